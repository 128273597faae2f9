"""A new user's project: `django-admin startproject`, future_celery added by following the
README's "Installing it in your project" (its code blocks, taken from the README itself), then
`manage.py check`, a job scheduled from `manage.py shell` and from a script, and a real
`celery -A <project> worker` started in the project.

Without `from .celery import app as celery_app` in the project's __init__.py, those
processes have no Celery app of the project, and Celery's default app would have sent the
jobs to amqp://guest@localhost// (issue 24: seven messages sat in a RabbitMQ queue nothing
read). The check reports it and scheduling refuses; with the line, or with
FUTURE_CELERY_CELERY_APP naming the app, the check is clean and the jobs reach the project's
broker (the tests' Redis database) and run on its worker."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from future_celery.models import ScheduledJob
from tests import processes
from tests.processes import ROOT, wait_until

README = (ROOT / "README.md").read_text()
PROJECT = "newsite"  # stands for the README's "yourproject"
MISSING_LINE = "from .celery import app as celery_app"

JOBS = """\
from future_celery import schedule_job


def hello(name):
    return f"Hello, {name}"


def greet_later(name):
    \"\"\"A job that schedules a job: handed to the broker from inside the worker.\"\"\"
    return schedule_job("0s", "newsite.jobs.hello", args=[name]).pk
"""

SCHEDULE = """\
from future_celery import schedule_job
job = schedule_job("0s", "newsite.jobs.{function}", args=[{who!r}])
print("job", job.pk)
"""

# A script of the project's own, as a user writes one (no manage.py).
SCRIPT = """\
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsite.settings")
import django

django.setup()
""" + SCHEDULE.format(function="greet_later", who="script")


def readme_block(first_lines: str) -> str:
    """The README's ```python block that starts with ``first_lines``, "yourproject" renamed."""
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    [block] = [block for block in blocks if block.startswith(first_lines)]
    return block.replace("yourproject", PROJECT)


def database_settings() -> str:
    """The README's DATABASES example, pointed at the test database (which the test's own
    connection, the project's processes and its worker all use)."""
    block = readme_block("# yourproject/settings.py\nDATABASES = {")
    assert '"ENGINE": "django.db.backends.postgresql"' in block
    db = connection.settings_dict
    actual = {key: db[key] for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")}
    return f"{block}DATABASES['default'] = {actual!r}\n" + (
        f"DATABASES['default']['OPTIONS'] = {db['OPTIONS']!r}\n" if db.get("OPTIONS") else ""
    )


def new_project(where: Path, broker_url: str) -> Path:
    """`django-admin startproject`, then the README's steps but the __init__.py line."""
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", PROJECT, str(where)],
        check=True,
        capture_output=True,
    )
    package = where / PROJECT
    settings = package / "settings.py"
    text = settings.read_text()
    assert "\nUSE_TZ = True\n" in text  # startproject's default, which future_celery needs
    text = re.sub(
        r"(\nINSTALLED_APPS = \[\n(?:    .*\n)*)\]", r'\1    "future_celery",\n]', text, count=1
    )
    assert '    "future_celery",\n]' in text, text
    celery_settings = readme_block("# yourproject/settings.py\nCELERY_BROKER_URL")
    celery_settings = celery_settings.replace('"redis://127.0.0.1:6379/0"', repr(broker_url))
    assert repr(broker_url) in celery_settings
    settings.write_text(text + database_settings() + celery_settings)
    (package / "celery.py").write_text(readme_block("# yourproject/celery.py\n"))
    (package / "jobs.py").write_text(JOBS)
    return where


def project_env() -> dict[str, str]:
    """A shell of the new project: none of the test run's settings, path or Django."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "DJANGO", "PYTHONPATH", "CELERY", "FUTURE_CELERY"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run(project: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=project_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def queued_messages(client, task_id: str) -> int:
    """How many messages with ``task_id`` wait in the Redis database's lists (queues)."""
    found = 0
    for key in client.scan_iter():
        if client.type(key) == b"list":
            found += sum(task_id.encode() in m for m in client.lrange(key, 0, -1))
    return found


@pytest.mark.engine
def test_a_new_project_made_by_startproject_following_the_readme(
    tmp_path, process_env, redis_broker
):
    redis_broker.client.flushdb()
    project = new_project(tmp_path / PROJECT, redis_broker.url)
    init = project / PROJECT / "__init__.py"

    # Without the line: an error that names it, for check and for migrate.
    checked = run(project, "manage.py", "check")
    assert checked.returncode != 0, checked.stdout + checked.stderr
    assert "future_celery.E010" in checked.stderr, checked.stderr
    assert MISSING_LINE in checked.stderr
    assert "FUTURE_CELERY_CELERY_APP" in checked.stderr
    migrated = run(project, "manage.py", "migrate", "--no-input")
    assert migrated.returncode != 0 and "future_celery.E010" in migrated.stderr, migrated.stderr
    # What the check stands between: in that shell Celery's app is its default one, on
    # amqp://guest@localhost//, and scheduling refuses instead of sending the job there.
    shell = run(
        project,
        "manage.py",
        "shell",
        "-c",
        "import celery; print('broker', celery.current_app.connection_for_write().as_uri())\n"
        + SCHEDULE.format(function="hello", who="shell"),
    )
    assert "broker amqp://guest:**@localhost:5672//" in shell.stdout, shell.stdout + shell.stderr
    assert shell.returncode != 0
    assert "CeleryAppNotConfigured" in shell.stderr and MISSING_LINE in shell.stderr
    assert not ScheduledJob.objects.filter(args=["shell"]).exists()  # nothing half-done
    assert redis_broker.client.dbsize() == 0

    # The setting instead of the line: clean.
    settings = project / PROJECT / "settings.py"
    without_setting = settings.read_text()
    settings.write_text(without_setting + 'FUTURE_CELERY_CELERY_APP = "newsite.celery:app"\n')
    checked = run(project, "manage.py", "check")
    assert checked.returncode == 0, checked.stderr
    assert "no issues" in checked.stdout
    settings.write_text(without_setting)

    # With the README's __init__.py: clean, and migrate runs.
    init.write_text(readme_block("# yourproject/__init__.py\n"))
    checked = run(project, "manage.py", "check")
    assert checked.returncode == 0, checked.stderr
    assert "no issues" in checked.stdout
    migrated = run(project, "manage.py", "migrate", "--no-input")
    assert migrated.returncode == 0, migrated.stderr

    # A job from manage.py shell and one from a script: handed to the project's broker right
    # after their commits (no beat runs here), before any worker exists.
    ids = []
    for done in (
        run(project, "manage.py", "shell", "-c", SCHEDULE.format(function="hello", who="shell")),
        run(project, "-c", SCRIPT),
    ):
        assert done.returncode == 0, done.stdout + done.stderr
        ids.append(int(re.search(r"^job (\d+)$", done.stdout, re.M)[1]))
    jobs = ScheduledJob.objects.filter(pk__in=ids)
    assert {job.status for job in jobs} == {ScheduledJob.STATUS_QUEUED}
    for job in jobs:
        assert queued_messages(redis_broker.client, job.task_id) == 1, job.task_id

    # The project's own worker, as the README starts it, takes them from there and runs them;
    # the script's job schedules one more from inside the worker. The worker needs no line in
    # __init__.py (taken out again here): `-A newsite` loads the app, and in the worker the
    # jobs' own jobs go through it.
    init.write_text("")
    worker = processes.Process(
        "newsite-worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            PROJECT,
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "-n",
            f"newsite-{os.getpid()}@%h",
            "--without-mingle",
            "--without-gossip",
        ],
        project_env(),
        cwd=project,
    )
    everything = ScheduledJob.objects.filter(callable_name__startswith="newsite.")
    try:
        worker.wait_for_output(" ready.")
        assert wait_until(
            lambda: everything.filter(status=ScheduledJob.STATUS_COMPLETE).count() == 3, 60
        ), (list(everything.values("callable_name", "status", "error")), worker.output[-3000:])
    finally:
        worker.stop()
    assert everything.count() == 3
    shell_job, script_job = ScheduledJob.objects.get(pk=ids[0]), ScheduledJob.objects.get(pk=ids[1])
    child = ScheduledJob.objects.get(pk=int(script_job.return_value))
    assert shell_job.return_value == "Hello, shell"
    assert (child.callable_name, child.return_value) == ("newsite.jobs.hello", "Hello, script")
    assert worker.messages_received("newsite.jobs.hello") == 2
    assert worker.messages_received("newsite.jobs.greet_later") == 1
    node = f"newsite-{os.getpid()}@{os.uname().nodename}"
    assert set(everything.values_list("worker", flat=True)) == {node}
