"""manage.py import_django_future: the jobs waiting in django-future 0.2.3's table
(django_future_scheduledjob, made here as its model made it, its rows written as it wrote
them: tests/django_future_table.py) move into ScheduledJob rows, made as schedule_job()
makes them; pickled arguments are read only with --unpickle-arguments."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.utils import timezone

from future_celery import ScheduledJob, from_django_future, run_jobs
from future_celery.exceptions import DjangoFutureTableMissing
from future_celery.management.commands.import_django_future import Command
from proj.demo.models import Execution, Note
from tests.django_future_table import OldScheduledJob, encoded, old_job, pickled
from tests.processes import wait_until
from tests.threads import in_thread

pytestmark = pytest.mark.django_db

FLAG = "--unpickle-arguments"


@pytest.fixture(scope="module", autouse=True)
def django_future_table(django_db_setup, django_db_blocker):
    """The table, made once for the module (committed: MySQL cannot roll DDL back)."""
    with django_db_blocker.unblock():
        with connection.schema_editor() as editor:
            editor.create_model(OldScheduledJob)
        yield
        with connection.schema_editor() as editor:
            editor.delete_model(OldScheduledJob)


def _named(function, name):
    """A lambda that pickle finds under a module-level name (it pickles no other way)."""
    function.__name__ = function.__qualname__ = name
    return function


callback = _named(lambda: None, "callback")


class Opaque:
    """An object of the user's own class: pickle stores it, JSON cannot."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"Opaque({self.value!r})"


def query_a_missing_table():
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")


class QueriesWhenUnpickled:
    """An object whose unpickling runs a query that fails."""

    def __reduce__(self):
        return query_a_missing_table, ()


UNPICKLED: list[str] = []


def note_unpickled(label):
    UNPICKLED.append(label)
    return label


class RunsWhenUnpickled:
    """An object whose unpickling calls note_unpickled: shows whether a pickle was run."""

    def __reduce__(self):
        return note_unpickled, ("ran",)


# What Python 2.7's cPickle wrote (copied from it) for [u'adé', 'bé', 3,
# datetime(2010, 10, 10, 12, 30)] (protocol 2; 'bé' a str: UTF-8 bytes), for
# {'n': 6, 'name': 'bé'} (protocol 0), and for django-future's default args () and kwargs {}.
PYTHON2_ARGS = (
    b"\x80\x02]q\x01(X\x04\x00\x00\x00ad\xc3\xa9q\x02U\x03b\xc3\xa9q\x03K\x03"
    b"cdatetime\ndatetime\nq\x04U\n\x07\xda\n\n\x0c\x1e\x00\x00\x00\x00\x85Rq\x05e."
)
PYTHON2_KWARGS = b"(dp1\nS'name'\np2\nS'b\\xc3\\xa9'\np3\nsS'n'\nI6\ns."
PYTHON2_EMPTY = {0: (b"(t.", b"(d."), 2: (b"\x80\x02).", b"\x80\x02}.")}


def run_command(*args: str) -> str:
    out = io.StringIO()
    call_command("import_django_future", *args, stdout=out)
    return out.getvalue()


def at(seconds: float) -> dt.datetime:
    return timezone.now().replace(microsecond=0) + dt.timedelta(seconds=seconds)


def old_ids() -> set[int]:
    return set(OldScheduledJob.objects.values_list("pk", flat=True))


def test_a_row_without_arguments_moves_without_the_flag_at_its_times():
    start, end = at(3600), at(3600 + 86400)
    row = old_job("proj.demo.jobs.say_hello", start=start, end=end)

    assert run_command() == "1 imported, 0 refused\n"

    job = ScheduledJob.objects.get()
    assert job.callable_name == "proj.demo.jobs.say_hello"
    assert job.args == [] and job.kwargs == {}
    assert job.time_slot_start == start and job.time_slot_end == end
    assert job.status == "scheduled" and job.content_object is None
    assert not OldScheduledJob.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (pickled([], 0), pickled(None, 0)),
        (pickled((), 5), pickled({}, 5)),
        tuple(map(encoded, PYTHON2_EMPTY[0])),
        tuple(map(encoded, PYTHON2_EMPTY[2])),
    ],
    ids=["py3-protocol-0", "py3-protocol-5", "py2-protocol-0", "py2-protocol-2"],
)
def test_empty_arguments_of_any_pickle_protocol_need_no_flag(args, kwargs):
    old_job("proj.demo.jobs.say_hello", raw_args=args, raw_kwargs=kwargs)
    assert run_command() == "1 imported, 0 refused\n"
    job = ScheduledJob.objects.get()
    assert job.args == [] and job.kwargs == {}


def test_pickled_arguments_are_refused_without_the_flag_which_the_report_names():
    row = old_job("proj.demo.jobs.record", args=["ada"])
    kwargs_only = old_job("proj.demo.jobs.record", kwargs={"label": "bob"})

    out = run_command()

    assert (
        f"refused #{row.pk} proj.demo.jobs.record: its args are pickled: reading them runs "
        f"the code the pickle names; run the import with {FLAG} if the table is yours\n"
    ) in out
    assert f"refused #{kwargs_only.pk} proj.demo.jobs.record: its kwargs are pickled" in out
    assert (
        f"2 refused for their pickled arguments: run it again with {FLAG} to read them, "
        "if the table is yours (unpickling runs code from it)\n"
    ) in out
    assert out.endswith("0 imported, 2 refused\n")
    assert not ScheduledJob.objects.exists()
    assert old_ids() == {row.pk, kwargs_only.pk}


def test_without_the_flag_no_pickle_is_run_not_even_in_a_dry_run():
    UNPICKLED.clear()
    row = old_job("proj.demo.jobs.echo", args=[RunsWhenUnpickled()])
    run_command("--dry-run")
    run_command()
    assert UNPICKLED == [] and old_ids() == {row.pk}
    run_command(FLAG)  # the operator's choice: now it runs
    assert UNPICKLED == ["ran"]
    assert ScheduledJob.objects.get().args == ["ran"]


def test_the_flags_help_says_unpickling_runs_code_from_a_table_that_must_be_yours():
    parser = Command().create_parser("manage.py", "import_django_future")
    help_text = " ".join(parser.format_help().split())
    assert FLAG in help_text
    assert "Unpickling runs whatever code a pickle names: use it only if the table is yours" in (
        help_text
    )


def test_with_the_flag_pickled_arguments_become_json_arguments():
    when = dt.datetime(2010, 10, 10, 12, 30)
    old_job(
        "proj.demo.jobs.echo",
        args=("ada", 3, decimal.Decimal("1.50"), when, [1, (2, 3)]),
        kwargs={"name": "bé", "flag": None},
    )

    assert run_command(FLAG) == "1 imported, 0 refused\n"

    job = ScheduledJob.objects.get()
    assert job.args == [
        "ada",
        3,
        {"$decimal": "1.50"},
        {"$datetime": "2010-10-10T12:30:00"},
        [1, {"$tuple": [2, 3]}],
    ]
    assert job.kwargs == {"name": "bé", "flag": None}
    assert not OldScheduledJob.objects.exists()


def test_the_imported_job_runs_its_callable_with_its_arguments():
    old_job("proj.demo.jobs.record", args=["ada"], start=at(-5))
    run_command(FLAG)
    run_jobs()
    job = ScheduledJob.objects.get()
    assert job.status == "complete" and job.return_value == "ada"
    assert Execution.objects.filter(label="ada").count() == 1


def test_python_2_pickles_are_read_str_as_utf8_text():
    old_job(
        "proj.demo.jobs.echo",
        raw_args=encoded(PYTHON2_ARGS),
        raw_kwargs=encoded(PYTHON2_KWARGS),
    )
    assert run_command(FLAG) == "1 imported, 0 refused\n"
    job = ScheduledJob.objects.get()
    assert job.args == ["adé", "bé", 3, {"$datetime": "2010-10-10T12:30:00"}]
    assert job.kwargs == {"n": 6, "name": "bé"}


def test_python_2_bytes_that_are_not_text_are_refused():
    # 'b\xe9' in latin-1: a Python 2 str that is no UTF-8 text stays bytes, which JSON cannot hold.
    row = old_job("proj.demo.jobs.echo", raw_args=encoded(b"(lp1\nS'b\\xe9'\np2\na."))
    out = run_command(FLAG)
    assert (
        f"refused #{row.pk} proj.demo.jobs.echo: args[0] cannot be stored as JSON: "
        "builtins.bytes is not supported (b'b\\xe9')\n"
    ) in out
    assert old_ids() == {row.pk}


def test_each_row_with_arguments_json_cannot_store_is_refused_listed_and_stays():
    a_lambda = old_job("proj.demo.jobs.echo", args=[callback])
    a_set = old_job("proj.demo.jobs.echo", kwargs={"tags": {"a"}})
    an_object = old_job("proj.demo.jobs.echo", args=["ok", Opaque(1)])
    good = old_job("proj.demo.jobs.echo", args=["fine"])

    out = run_command(FLAG)

    assert (
        f"refused #{a_lambda.pk} proj.demo.jobs.echo: args[0] cannot be stored as JSON: "
        "builtins.function is not supported (<function callback at "
    ) in out
    assert (
        f"refused #{a_set.pk} proj.demo.jobs.echo: kwargs['tags'] cannot be stored as JSON: "
        "builtins.set is not supported ({'a'})\n"
    ) in out
    assert (
        f"refused #{an_object.pk} proj.demo.jobs.echo: args[1] cannot be stored as JSON: "
        f"{__name__}.Opaque is not supported (Opaque(1))\n"
    ) in out
    assert out.endswith("1 imported, 3 refused\n")
    assert ScheduledJob.objects.get().args == ["fine"]
    assert old_ids() == {a_lambda.pk, a_set.pk, an_object.pk}
    assert good.pk not in old_ids()


def test_arguments_that_cannot_be_unpickled_are_refused():
    gone = old_job(
        "proj.demo.jobs.echo",
        raw_args=encoded(b"\x80\x02]q\x01cmyapp.gone\nThing\nq\x02)\x81q\x03a."),
    )
    not_base64 = old_job("proj.demo.jobs.echo", raw_args="not base64!")
    out = run_command(FLAG)
    assert (
        f"refused #{gone.pk} proj.demo.jobs.echo: its args cannot be unpickled: "
        "ModuleNotFoundError(\"No module named 'myapp'\")\n"
    ) in out
    assert (
        f"refused #{not_base64.pk} proj.demo.jobs.echo: its args are not the base64 text of "
        "a pickle, as django-future's PickledObjectField wrote it"
    ) in out
    assert old_ids() == {gone.pk, not_base64.pk}


def test_a_query_that_fails_while_a_row_is_read_refuses_that_row_not_the_import():
    # On PostgreSQL a failed query spoils its transaction: each row is read in a savepoint.
    bad = old_job("proj.demo.jobs.echo", args=[QueriesWhenUnpickled()], start=at(60))
    old_job("proj.demo.jobs.echo", args=["fine"], start=at(120))
    out = run_command(FLAG)
    assert f"refused #{bad.pk} proj.demo.jobs.echo: its args cannot be unpickled: " in out
    assert out.endswith("1 imported, 1 refused\n")
    assert ScheduledJob.objects.get().args == ["fine"] and old_ids() == {bad.pk}


def test_the_content_object_comes_along_for_a_method_and_for_a_function():
    note = Note.objects.create(title="Ada")
    old_job("remind", start=at(-5), content_object=note)  # one of its methods
    old_job("proj.demo.jobs.note_title", start=at(-5), content_object=note)  # its argument

    assert run_command() == "2 imported, 0 refused\n"

    method, function = ScheduledJob.objects.order_by("pk")
    assert method.content_object == note and function.content_object == note
    run_jobs()
    method.refresh_from_db()
    function.refresh_from_db()
    assert method.return_value == "Ada: reminder #1"
    assert function.return_value == "Ada"


def test_a_row_whose_content_object_is_gone_is_refused():
    note = Note.objects.create(title="Ada")
    row = old_job("remind", content_object=note)
    note_pk = note.pk
    note.delete()
    out = run_command()
    assert (
        f"refused #{row.pk} remind: its content object, the demo.note with primary key "
        f"{note_pk}, no longer exists\n"
    ) in out
    assert old_ids() == {row.pk}


def test_callables_are_checked_as_schedule_job_checks_them(settings):
    settings.FUTURE_CELERY_ALLOWED_CALLABLES = ["proj.demo.jobs.say_*"]
    allowed = old_job("proj.demo.jobs.say_hello")
    not_allowed = old_job("proj.demo.jobs.boom")
    gone = old_job("myapp.jobs.deleted_function")

    out = run_command()

    assert (
        f"refused #{not_allowed.pk} proj.demo.jobs.boom: callable 'proj.demo.jobs.boom' is "
        "not allowed by FUTURE_CELERY_ALLOWED_CALLABLES\n"
    ) in out
    assert f"refused #{gone.pk} myapp.jobs.deleted_function: callable " in out
    assert out.endswith("1 imported, 2 refused\n")
    assert ScheduledJob.objects.get().callable_name == "proj.demo.jobs.say_hello"
    assert old_ids() == {not_allowed.pk, gone.pk}
    assert allowed.pk not in old_ids()


def test_a_callable_not_allowed_is_refused_for_that_before_its_pickled_arguments(settings):
    settings.FUTURE_CELERY_ALLOWED_CALLABLES = ["proj.demo.jobs.say_*"]
    row = old_job("proj.demo.jobs.record", args=["ada"])
    out = run_command()
    assert (
        f"refused #{row.pk} proj.demo.jobs.record: callable 'proj.demo.jobs.record' is not "
        "allowed by FUTURE_CELERY_ALLOWED_CALLABLES\n"
    ) in out
    assert FLAG not in out


def test_a_callable_still_marked_by_django_futures_job_as_parameter_is_refused(monkeypatch):
    from proj.demo import jobs

    # What django_future.job_as_parameter did: an attribute on the function.
    monkeypatch.setattr(jobs.say_hello, "job_as_parameter", True, raising=False)
    row = old_job("proj.demo.jobs.say_hello")
    out = run_command()
    assert (
        f"refused #{row.pk} proj.demo.jobs.say_hello: 'proj.demo.jobs.say_hello' is still "
        "decorated with django-future's @job_as_parameter: change its import to "
        "`from future_celery import job_as_parameter` and run the import again\n"
    ) in out
    assert old_ids() == {row.pk}


def test_an_expiry_at_or_before_the_start_is_refused():
    row = old_job("proj.demo.jobs.say_hello", start=at(60), end=at(60))
    out = run_command()
    assert f"refused #{row.pk} proj.demo.jobs.say_hello: the job would expire at " in out
    assert old_ids() == {row.pk}


def test_an_expiry_already_past_is_imported_and_the_job_expires_as_ours_do():
    old_job("proj.demo.jobs.record", args=["late"], start=at(-7200), end=at(-3600))
    run_command(FLAG)
    run_jobs()
    assert ScheduledJob.objects.get().status == "expired"
    assert not Execution.objects.filter(label="late").exists()


def test_only_scheduled_rows_move_the_others_are_counted_and_stay():
    waiting = old_job("proj.demo.jobs.say_hello")
    others = {
        status: old_job("proj.demo.jobs.say_hello", status=status).pk
        for status in ("running", "complete", "failed", "expired")
    }
    out = run_command()
    assert out == (
        "left in django_future_scheduledjob: 1 complete, 1 expired, 1 failed, 1 running\n"
        "1 imported, 0 refused\n"
    )
    assert old_ids() == set(others.values())
    assert waiting.pk not in old_ids()


def test_running_it_twice_imports_nothing_the_second_time():
    old_job("proj.demo.jobs.say_hello")
    old_job("proj.demo.jobs.record", args=["ada"])
    assert run_command(FLAG) == "2 imported, 0 refused\n"
    assert run_command(FLAG) == "0 imported, 0 refused\n"
    assert ScheduledJob.objects.count() == 2 and not OldScheduledJob.objects.exists()


def test_a_dry_run_lists_what_it_would_import_and_refuse_and_changes_nothing():
    ok = old_job("proj.demo.jobs.record", args=["ada"])
    bad = old_job("proj.demo.jobs.echo", args=[{1, 2}])
    out = run_command(FLAG, "--dry-run")
    assert f"would import #{ok.pk} proj.demo.jobs.record\n" in out
    assert f"would refuse #{bad.pk} proj.demo.jobs.echo: args[0] cannot be stored" in out
    assert out.endswith("1 to import, 1 to refuse (dry run: nothing was changed)\n")
    assert not ScheduledJob.objects.exists() and old_ids() == {ok.pk, bad.pk}


def test_with_verbosity_2_it_lists_each_row_it_moved_and_its_job():
    row = old_job("proj.demo.jobs.say_hello")
    out = run_command("-v", "2")
    job = ScheduledJob.objects.get()
    assert out == f"imported #{row.pk} proj.demo.jobs.say_hello as job #{job.pk}\n" + (
        "1 imported, 0 refused\n"
    )


def test_nothing_is_half_imported_when_the_move_fails(monkeypatch):
    old_job("proj.demo.jobs.say_hello")
    old_job("proj.demo.jobs.record", args=["ada"])

    def broken_delete(connection, ids):
        raise RuntimeError("the delete failed")

    monkeypatch.setattr(from_django_future, "_delete", broken_delete)
    with pytest.raises(RuntimeError, match="the delete failed"):
        run_command(FLAG)
    assert not ScheduledJob.objects.exists() and OldScheduledJob.objects.count() == 2


def test_the_report_of_the_function_names_each_refusal():
    row = old_job("proj.demo.jobs.record", args=["ada"])
    report = from_django_future.import_django_future()
    [refused] = report.refused
    assert refused.row_id == row.pk and refused.pickled
    assert report.imported == [] and old_ids() == {row.pk}


@pytest.mark.django_db(transaction=True)  # DDL (MySQL's cannot be rolled back)
def test_without_the_table_it_says_so():
    with connection.schema_editor() as editor:
        editor.delete_model(OldScheduledJob)
    try:
        with pytest.raises(DjangoFutureTableMissing):
            from_django_future.import_django_future()
        with pytest.raises(
            CommandError, match="there is no 'django_future_scheduledjob' table in the database"
        ):
            run_command()
    finally:
        with connection.schema_editor() as editor:
            editor.create_model(OldScheduledJob)


@pytest.mark.engine
def test_an_imported_job_due_now_runs_on_a_celery_worker(worker):
    old_job("proj.demo.jobs.record", args=["on-celery"], start=at(-5))
    assert run_command(FLAG) == "1 imported, 0 refused\n"
    job = ScheduledJob.objects.get()
    assert wait_until(lambda: ScheduledJob.objects.get().is_finished, 20), job.status
    job.refresh_from_db()
    assert job.status == "complete" and job.return_value == "on-celery"
    assert Execution.objects.filter(label="on-celery").count() == 1


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_runscheduledjobs_of_django_future_cannot_take_a_row_while_it_moves(monkeypatch):
    row = old_job("proj.demo.jobs.say_hello")
    selected, go_on = threading.Event(), threading.Event()
    left = from_django_future._left

    def paused_left(connection):  # the rows are selected; the import waits here
        selected.set()
        go_on.wait(10)
        return left(connection)

    monkeypatch.setattr(from_django_future, "_left", paused_left)
    taken = []

    def runner_takes_it():  # what django-future's runner did: status 'running', by id
        taken.append(
            OldScheduledJob.objects.filter(pk=row.pk, status="scheduled").update(status="running")
        )

    importer = in_thread(from_django_future.import_django_future)
    try:
        assert selected.wait(10)
        runner = in_thread(runner_takes_it)
        runner.join(0.5)
        waited = runner.is_alive()
    finally:
        go_on.set()
        importer.join(10)
    runner.join(10)
    try:
        assert waited  # its update waited for the import's transaction
        assert taken == [0]  # and found the row gone: nothing for it to run
        assert ScheduledJob.objects.get().callable_name == "proj.demo.jobs.say_hello"
    finally:
        OldScheduledJob.objects.all().delete()  # the table outlives a transactional test


@pytest.mark.sqlite
def test_naive_times_are_read_in_the_time_zone_of_the_database():
    # What django-future wrote without USE_TZ: local wall-clock times, here Berlin's.
    row = old_job("proj.demo.jobs.say_hello")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE django_future_scheduledjob SET time_slot_start = %s, time_slot_end = %s "
            "WHERE id = %s",
            ["2030-01-01 12:00:00", "2030-01-08 12:00:00", row.pk],
        )
    wrapper = connections["default"]  # not the proxy: its cached timezone is the wrapper's
    saved = wrapper.settings_dict["TIME_ZONE"]
    wrapper.settings_dict["TIME_ZONE"] = "Europe/Berlin"
    wrapper.__dict__.pop("timezone", None)  # a cached_property
    try:  # (our own rows are stored in that time zone too, as Django stores every naive time)
        assert run_command() == "1 imported, 0 refused\n"
        job = ScheduledJob.objects.get()
        assert job.time_slot_start == dt.datetime(2030, 1, 1, 11, 0, tzinfo=dt.UTC)
        assert job.time_slot_end == dt.datetime(2030, 1, 8, 11, 0, tzinfo=dt.UTC)
    finally:
        wrapper.settings_dict["TIME_ZONE"] = saved
        wrapper.__dict__.pop("timezone", None)
