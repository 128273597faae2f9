"""superdjango's scheduler on future_celery: the scheduler.ini file, the registry, Result and
STATUS, Activity.log and the scheduler_* commands. Every job is a RecurringJob; each run an
ordinary ScheduledJob row."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import stat
import subprocess
import sys
import textwrap
import zoneinfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from future_celery import ScheduledJob, recurrence, recurring, run_jobs
from future_celery import recurring_jobs as engine
from future_celery.exceptions import SchedulerFileError
from future_celery.models import RecurringJob
from future_celery.scheduler import STATUS, Result, ini, registry, schedule
from future_celery.scheduler.models import Activity
from tests.processes import ROOT

pytestmark = pytest.mark.django_db

# The seed's examples, as its documentation gives them.
SEED_INI = textwrap.dedent(
    """\
    [run a test job]
    call = example.scheduler.test_job
    every = 5 seconds
    testing = True

    [this job should never make it to the scheduler]
    call = example.scheduler.nonexistent_job
    description = A nonexistent callback will not make it into the schedule.
    every = 5 seconds

    [this job is inactive]
    active = no
    call = example.automation.inactive_job
    every = 10 minutes

    [this job runs on sunday]
    callback = example.scheduler.sunday_cleanup
    frequency = sunday
    at = 23:30
    """
)
SEED_LABELS = ["run a test job", "this job is inactive", "this job runs on sunday"]
NONEXISTENT = "this job should never make it to the scheduler"


@pytest.fixture(autouse=True)
def example_package(monkeypatch):
    """The seed's ``example`` package importable (tests/example), imported afresh by each
    test, with an empty registry: its register() calls land in this test's registry only."""
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    for name in [name for name in sys.modules if name == "example" or name.startswith("example.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(schedule, "_jobs", {})
    yield
    for name in [name for name in sys.modules if name == "example" or name.startswith("example.")]:
        sys.modules.pop(name, None)


@pytest.fixture(autouse=True)
def no_broker(settings):
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False


@pytest.fixture
def seed_file(tmp_path):
    path = tmp_path / "config" / "scheduler.ini"
    path.parent.mkdir()
    path.write_text(SEED_INI)
    return path


@pytest.fixture
def with_example_app():
    """The example package as an installed app, for autodiscovery."""
    from django.conf import settings

    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "example"]):
        yield


def jobs_by_label() -> dict[str, RecurringJob]:
    return {job.label: job for job in RecurringJob.objects.all()}


def run_once_now(job: RecurringJob) -> ScheduledJob:
    """Make ``job``'s occurrence due now and run it in-process; its row, refreshed."""
    rule = engine.rule_of(job)
    slot = recurrence.next_slot(rule, timezone.now() - recurrence.period(rule))
    RecurringJob.objects.filter(pk=job.pk).update(next_slot=slot)
    run_jobs(ignore_errors=True)
    return ScheduledJob.objects.get(recurring=job)


def command(name: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# The seed's INI examples


def test_the_seeds_examples_load_as_the_seed_says(seed_file, settings, caplog):
    settings.TIME_ZONE = "Europe/Berlin"
    with caplog.at_level(logging.WARNING, logger="future_celery.scheduler"):
        report = ini.load(seed_file)
    assert [job.label for job in report.saved] == SEED_LABELS
    assert sorted(jobs_by_label()) == SEED_LABELS
    [(label, reason)] = report.left_out
    assert label == NONEXISTENT and "nonexistent_job" in reason
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert NONEXISTENT in warning and str(seed_file) in warning


def test_the_seeds_test_job_gets_testing_as_a_boolean_and_its_pk(seed_file):
    ini.load(seed_file)
    job = jobs_by_label()["run a test job"]
    assert job.active and job.source == "ini" and job.pass_pk
    assert job.kwargs == {"testing": True} and job.every == "5 seconds"
    occurrence = run_once_now(job)
    assert occurrence.kwargs == {"testing": True, "pk": job.pk}
    assert occurrence.return_value == (
        f"SUCCESS: test job ran\n\n[('pk', {job.pk}), ('testing', True)]"
    )


def test_the_seeds_inactive_job_is_saved_inactive(seed_file):
    ini.load(seed_file)
    job = jobs_by_label()["this job is inactive"]
    assert not job.active and job.callable_name == "example.automation.inactive_job"
    engine.make_occurrences(timezone.now() + dt.timedelta(hours=1))
    assert not ScheduledJob.objects.filter(recurring=job).exists()


def test_the_seeds_sunday_job_runs_on_sundays_at_23_30_in_the_configured_zone(seed_file, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    ini.load(seed_file)
    job = jobs_by_label()["this job runs on sunday"]
    assert job.callable_name == "example.scheduler.sunday_cleanup"
    local = job.next_slot.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    assert local.weekday() == 6 and (local.hour, local.minute) == (23, 30)
    assert timezone.now() < job.next_slot <= timezone.now() + dt.timedelta(days=7)
    assert job.timezone == "Europe/Berlin"


def test_a_description_defaults_to_the_callbacks_docstring(seed_file):
    ini.load(seed_file)
    assert jobs_by_label()["run a test job"].description == (
        "Reports the keyword arguments it was given."
    )


# Loading again


def test_loading_an_unchanged_file_again_changes_nothing(seed_file):
    first = {job.label: (job.pk, job.updated, job.next_slot) for job in ini.load(seed_file).saved}
    again = ini.load(seed_file)
    assert {job.label: (job.pk, job.updated, job.next_slot) for job in again.saved} == first
    assert again.deactivated == [] and RecurringJob.objects.count() == 3


def test_a_section_removed_from_the_file_deactivates_its_job(seed_file):
    ini.load(seed_file)
    seed_file.write_text(SEED_INI.split("[this job runs on sunday]")[0])
    report = ini.load(seed_file)
    assert report.deactivated == ["this job runs on sunday"]
    assert not jobs_by_label()["this job runs on sunday"].active
    assert jobs_by_label()["run a test job"].active
    seed_file.write_text(SEED_INI)
    ini.load(seed_file)
    assert jobs_by_label()["this job runs on sunday"].active


def test_a_section_whose_callback_is_gone_now_deactivates_its_job(seed_file):
    ini.load(seed_file)
    seed_file.write_text(SEED_INI.replace("sunday_cleanup", "renamed_cleanup"))
    report = ini.load(seed_file)
    assert "this job runs on sunday" in dict(report.left_out)
    assert report.deactivated == ["this job runs on sunday"]


def test_loading_leaves_jobs_of_code_and_the_admin_alone(seed_file):
    code = recurring("from code", "example.scheduler.test_job", every="1 hour")
    admin = recurring("from admin", "example.scheduler.test_job", every="1 hour", source="admin")
    ini.load(seed_file)
    assert RecurringJob.objects.get(pk=code.pk).active
    assert RecurringJob.objects.get(pk=admin.pk).active


def test_a_section_without_a_schedule_or_callback_is_left_out_naming_it(tmp_path, caplog):
    path = tmp_path / "scheduler.ini"
    path.write_text(
        "[no schedule]\ncall = example.scheduler.test_job\n\n"
        "[no callback]\nevery = 5 minutes\n\n"
        "[bad schedule]\ncall = example.scheduler.test_job\nevery = often\n"
    )
    with caplog.at_level(logging.WARNING, logger="future_celery.scheduler"):
        report = ini.load(path)
    assert [label for label, _ in report.left_out] == ["no schedule", "no callback", "bad schedule"]
    assert "every" in dict(report.left_out)["no schedule"]
    assert "call" in dict(report.left_out)["no callback"]
    assert "often" in dict(report.left_out)["bad schedule"]
    assert all(str(path) in r.getMessage() for r in caplog.records)
    assert not RecurringJob.objects.exists()


def test_a_malformed_file_is_an_error_naming_the_file_and_the_line(tmp_path, seed_file):
    seed_file.write_text(SEED_INI + "\n[run a test job]\ncall = example.scheduler.test_job\n")
    with pytest.raises(SchedulerFileError) as raised:
        ini.load(seed_file)
    line = len(SEED_INI.splitlines()) + 2
    assert str(seed_file) in str(raised.value) and f"line {line}:" in str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert not RecurringJob.objects.exists()


def test_a_missing_file_loads_nothing_and_says_so(tmp_path):
    report = ini.load(tmp_path / "absent.ini")
    assert report.missing and "no such file" in report.summary()


def test_the_default_file_is_config_scheduler_ini_under_base_dir(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    assert ini.default_path() == tmp_path / "config" / "scheduler.ini"
    settings.FUTURE_CELERY_SCHEDULER_PATH = str(tmp_path / "elsewhere.ini")
    assert ini.default_path() == tmp_path / "elsewhere.ini"


# Result and STATUS through a run


def test_a_callback_returning_failure_leaves_its_occurrence_failed_without_a_traceback(tmp_path):
    path = tmp_path / "scheduler.ini"
    path.write_text("[fails]\ncall = example.scheduler.failing_job\nevery = 1 hour\n")
    [job] = ini.load(path).saved
    occurrence = run_once_now(job)
    assert occurrence.status == ScheduledJob.STATUS_FAILED
    assert occurrence.error == "FAILURE: the disk is full\n\ndf says 100%"
    assert "Traceback" not in occurrence.error and occurrence.return_value == ""


def test_result_text_and_failure_follow_the_status():
    assert str(Result(STATUS.SUCCESS)) == "SUCCESS"
    assert str(Result(STATUS.SUCCESS, output="out")) == "SUCCESS\n\nout"
    assert Result("failure", message="m").__job_outcome__() == (True, "FAILURE: m")
    assert Result("ERROR").failed and not Result(STATUS.WARNING).failed


def test_activity_log_logs_the_jobs_label_status_and_message(caplog, with_example_app):
    [job] = [j for j in registry.discover() if j.label == "do something on a recurring basis"]
    engine.set_active(job, True)  # registered without a schedule: saved inactive
    with caplog.at_level(logging.INFO, logger="future_celery.scheduler"):
        occurrence = run_once_now(job)
    assert occurrence.status == ScheduledJob.STATUS_COMPLETE
    assert occurrence.return_value.startswith("SUCCESS: This may be displayed to a user.")
    assert (
        f"Activity of recurring job 'do something on a recurring basis' (#{job.pk}): "
        "SUCCESS This may be displayed to a user."
    ) in caplog.messages


def test_activity_log_never_raises_for_a_missing_job(caplog):
    with caplog.at_level(logging.INFO, logger="future_celery.scheduler"):
        Activity.log(987654, Result(STATUS.FAILURE, message="m"))
        Activity.log("not a pk", Result(STATUS.SUCCESS))
        Activity.log(None, Result(STATUS.SUCCESS))
    assert "#987654 (not found): FAILURE m" in caplog.messages[0]
    assert caplog.records[0].levelno == logging.WARNING


# The registry


def test_registering_saves_nothing_until_discovery(with_example_app):
    import example.scheduler  # noqa: F401

    assert {job.label for job in schedule} == {
        "do something on a recurring basis",
        "registered test job",
    }
    assert not RecurringJob.objects.exists()


def test_discovery_imports_the_scheduler_modules_and_saves_their_jobs(with_example_app):
    saved = {job.label: job for job in registry.discover()}
    assert "example.scheduler" in sys.modules
    plain = saved["do something on a recurring basis"]
    assert plain.callable_name == "example.scheduler.do_something_on_a_recurring_basis"
    assert plain.source == "code" and plain.pass_pk and not plain.active  # no schedule given
    assert plain.every == "1 day" and plain.at == "00:00"
    weekly = saved["registered test job"]
    assert weekly.active and weekly.kwargs == {"n": 1} and weekly.every == "1 week"


def test_discovery_again_keeps_the_active_flag_set_in_the_admin(with_example_app):
    [job] = [j for j in registry.discover() if j.label == "do something on a recurring basis"]
    engine.set_active(job, True)
    registry.discover()
    assert RecurringJob.objects.get(pk=job.pk).active
    assert RecurringJob.objects.count() == 2


def test_the_scheduler_module_name_is_a_setting(with_example_app, settings):
    settings.FUTURE_CELERY_SCHEDULER_MODULE_NAME = "automation"
    assert registry.discover() == []
    assert "example.automation" in sys.modules and "example.scheduler" not in sys.modules


def test_register_checks_its_callback_and_schedule_at_once():
    from future_celery.exceptions import CallableNotFound, InvalidRecurrence

    with pytest.raises(CallableNotFound):
        schedule.register("x", lambda **kwargs: None, every="5 minutes", label="lambda")
    with pytest.raises(InvalidRecurrence):
        schedule.register("x", "example.scheduler.test_job", every="often", label="often")
    assert not {"lambda", "often"} & {job.label for job in schedule}


def test_celery_beats_start_saves_the_registry_and_the_ini_files_jobs(
    seed_file, settings, with_example_app, monkeypatch
):
    from future_celery.beat import scheduler_class
    from proj.celery import app

    # The base scheduler's own start (django-celery-beat's closes the connection the test runs
    # in; Celery's opens its schedule file) is not ours.
    base = scheduler_class().__mro__[2]
    monkeypatch.setattr(base, "setup_schedule", lambda self: None)
    settings.FUTURE_CELERY_SCHEDULER_PATH = str(seed_file)
    scheduler_class()(app=app, lazy=True).setup_schedule()
    labels = set(jobs_by_label())
    assert set(SEED_LABELS) <= labels and "registered test job" in labels


def test_celery_beats_start_logs_a_malformed_file_and_goes_on(seed_file, settings, caplog):
    settings.FUTURE_CELERY_SCHEDULER_PATH = str(seed_file)
    seed_file.write_text("call = x\n")
    with caplog.at_level(logging.ERROR, logger="future_celery.scheduler"):
        engine.sync_all()
    assert "line 1" in caplog.text and str(seed_file) in caplog.text


# The export


def test_export_then_load_gives_the_same_jobs(tmp_path, seed_file, settings, with_example_app):
    ini.load(seed_file)
    registry.discover()
    recurring(
        "typed arguments",
        "example.scheduler.test_job",
        cron="*/15 8-18 * * mon-fri",
        tz="America/New_York",
        kwargs={
            "count": 3,
            "ratio": 0.5,
            "flag": False,
            "text": "two words",
            "number_as_text": "5",
            "bool_as_text": "True",
            "padded": " x ",
        },
        description="several\nlines",
        queue="slow",
        priority=7,
        catch_up="all",
        overlap="skip",
        expires_after=90.0,
        active=False,
    )
    fields = (
        "label callable_name every at cron timezone kwargs active description queue priority "
        "catch_up overlap expires_after"
    ).split()

    def snapshot():
        return {
            job.label: {f: getattr(job, f) for f in fields} for job in RecurringJob.objects.all()
        }

    before = snapshot()
    exported = tmp_path / "exported.ini"
    exported.write_text(ini.dumps(ini.exported_jobs()))
    RecurringJob.objects.all().delete()
    report = ini.load(exported)
    assert report.left_out == [] and snapshot() == before


def test_export_ini_preview_prints_the_file(seed_file):
    ini.load(seed_file)
    out, _ = command("scheduler_export_ini", "-p")
    assert "[run a test job]\ncall = example.scheduler.test_job\n" in out
    assert "every = 5 seconds" in out and "testing = True" in out
    assert "[this job runs on sunday]" in out and "every = sunday\nat = 23:30" in out
    assert "[this job is inactive]" in out and "active = no" in out


def test_export_ini_writes_the_configured_file(seed_file, tmp_path, settings):
    ini.load(seed_file)
    target = tmp_path / "out" / "scheduler.ini"
    settings.FUTURE_CELERY_SCHEDULER_PATH = str(target)
    out, _ = command("scheduler_export_ini")
    assert out.strip() == f"3 jobs written to {target}"
    assert [job.label for job in ini.read(target).jobs] == SEED_LABELS


# The other commands


def test_list_jobs_reads_the_file_given_with_P_and_saves_nothing(seed_file, tmp_path):
    other = tmp_path / "tenants" / "acme" / "scheduler.ini"
    other.parent.mkdir(parents=True)
    other.write_text("[acme job]\ncall = example.scheduler.test_job\nevery = 10 minutes\n")
    out, err = command("scheduler_list_jobs", "-P", str(other))
    assert f"{other}: 1 jobs" in out
    assert "[acme job] example.scheduler.test_job, every 10 minutes, active" in out
    out, err = command("scheduler_list_jobs", "-P", str(seed_file))
    assert "[this job is inactive] example.automation.inactive_job" in out and "inactive" in out
    assert "kwargs {'testing': True}" in out
    assert NONEXISTENT in err and "left out" in err
    assert not RecurringJob.objects.exists()


def test_list_jobs_reads_the_default_file(seed_file, settings):
    settings.FUTURE_CELERY_SCHEDULER_PATH = str(seed_file)
    out, _ = command("scheduler_list_jobs")
    assert f"{seed_file}: 3 jobs" in out


def test_list_jobs_of_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no such scheduler file"):
        command("scheduler_list_jobs", "-P", str(tmp_path / "missing.ini"))


def test_discover_jobs_saves_and_lists_the_registered_jobs(with_example_app):
    out, _ = command("scheduler_discover_jobs")
    assert "2 jobs discovered" in out
    assert "[registered test job] example.scheduler.test_job, active" in out
    assert RecurringJob.objects.filter(source="code").count() == 2


def test_run_jobs_loads_the_file_then_runs_due_jobs(seed_file):
    out, _ = command(
        "scheduler_run_jobs", "-P", str(seed_file), "--duration", "0.2", "--sleep", "0.1"
    )
    assert f"{seed_file}: 3 jobs saved, 1 left out, 0 deactivated" in out
    assert "process_tasks: running due jobs" in out
    assert sorted(jobs_by_label()) == SEED_LABELS


def test_run_jobs_of_a_missing_file_given_by_path_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no such scheduler file"):
        command("scheduler_run_jobs", "-P", str(tmp_path / "missing.ini"), "--duration", "0.1")


def test_export_supervisord_prints_programs_for_celery_and_for_the_script(tmp_path):
    script = tmp_path / "cron" / "scheduler.sh"
    out, _ = command("scheduler_export_supervisord", str(script), "-n", "acme_example_app")
    bin_dir = os.path.dirname(sys.executable)
    assert "[program:acme_example_app_worker]" in out
    assert f"command={bin_dir}/celery -A tests worker --loglevel INFO" in out
    assert "[program:acme_example_app_beat]" in out
    assert "beat -S future_celery.beat:DatabaseScheduler" in out
    assert f"[program:acme_example_app_scheduler]\ncommand={script}\n" in out
    assert 'environment=DJANGO_SETTINGS_MODULE="tests.settings"' in out
    assert not script.exists()


def test_export_supervisord_names_programs_after_the_project_and_writes_the_script(tmp_path):
    script = tmp_path / "cron" / "scheduler.sh"
    out, err = command(
        "scheduler_export_supervisord", str(script), "-w", "-A", "proj", "-P", "t/scheduler.ini"
    )
    assert "[program:tests_worker]" in out and "celery -A proj worker" in out
    text = script.read_text()
    assert text.startswith("#! /usr/bin/env bash\n")
    assert "manage.py scheduler_run_jobs --settings=tests.settings -P t/scheduler.ini" in text
    assert script.stat().st_mode & stat.S_IXUSR and f"{script} written" in err


@pytest.mark.usefixtures("transactional_db")
def test_a_tenants_settings_and_file_are_used_by_the_command(seed_file, process_env, manage_py):
    done = subprocess.run(
        [*manage_py, "scheduler_list_jobs", "--settings=tests.settings", "-P", str(seed_file)],
        env={**process_env, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"{seed_file}: 3 jobs" in done.stdout and NONEXISTENT in done.stderr
