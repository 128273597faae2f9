"""`make run` on a machine with nothing installed but Python: scripts/choose-broker takes the
local Redis when it answers, starts it when it is installed but down, and otherwise kombu's
filesystem transport, on which proj's real worker and beat (the Procfile's commands, through
honcho) run jobs on a SQLite database. The real Redis is never stopped: "no Redis" is an
unused port and a PATH without redis-server."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.processes import ROOT, Process, free_port, wait_until

pytestmark = pytest.mark.engine

CHOOSER = ROOT / "scripts" / "choose-broker"
VENV_BIN = Path(sys.executable).parent  # celery, honcho, gunicorn; never redis-server


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without what would choose the broker or the settings for the child."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "CELERY_", "TEST_", "FUTURE_CELERY_"))
        and key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "REDIS_PORT")
    }
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def choose(env: dict[str, str]) -> tuple[str, str]:
    """scripts/choose-broker's URL (stdout) and what it says (stderr)."""
    done = subprocess.run(
        [sys.executable, str(CHOOSER)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip(), done.stderr


def test_the_local_redis_when_it_answers():
    redis.Redis(port=6379).ping()  # the machine's Redis is up (the engine tests need it)
    url, said = choose(clean_env())
    assert url == "redis://127.0.0.1:6379/0"
    assert "Broker: Redis at redis://127.0.0.1:6379/0 (the local Redis answers)" in said


def test_a_set_broker_url_is_used_as_given_and_its_password_not_printed():
    url, said = choose(clean_env(CELERY_BROKER_URL="amqp://guest:secret@127.0.0.1:5672/x"))
    assert url == "amqp://guest:secret@127.0.0.1:5672/x"
    assert "Broker: amqp://guest:***@127.0.0.1:5672/x (CELERY_BROKER_URL, as set)" in said
    assert "secret" not in said


def test_redis_is_started_when_installed_but_down(tmp_path):
    """redis-server on PATH, nothing on the port: the chooser starts it and uses it. (Through a
    wrapper that gives this Redis a pid file of its own: daemonized, Redis would otherwise
    take /var/run/redis.pid from the machine's Redis.)"""
    real = shutil.which("redis-server")
    if real is None:
        pytest.fail("redis-server is not installed (Debian/Ubuntu: apt-get install redis-server)")
    port = free_port()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "redis-server"
    wrapper.write_text(f'#!/bin/sh\nexec {real} "$@" --pidfile {tmp_path}/redis.pid\n')
    wrapper.chmod(0o755)
    try:
        url, said = choose(clean_env(PATH=f"{bin_dir}:{VENV_BIN}", REDIS_PORT=str(port)))
        assert url == f"redis://127.0.0.1:{port}/0"
        assert f"Redis is not running on 127.0.0.1:{port}; starting it" in said
        assert f"Broker: Redis at redis://127.0.0.1:{port}/0 (started just now)" in said
        assert redis.Redis(port=port).ping()
    finally:
        try:
            redis.Redis(port=port).shutdown(nosave=True)
        except redis.ConnectionError:  # gone: what shutdown does, or it never started
            pass


def no_redis_env(tmp_path: Path) -> dict[str, str]:
    """Nothing answers on the Redis port and no redis-server is on PATH."""
    path = str(VENV_BIN)
    assert shutil.which("redis-server", path=path) is None
    return clean_env(
        PATH=path,
        REDIS_PORT=str(free_port()),
        CELERY_BROKER_FOLDER=str(tmp_path / "broker"),
    )


def test_the_filesystem_transport_without_redis(tmp_path):
    url, said = choose(no_redis_env(tmp_path))
    assert url == "filesystem://"
    assert f"Broker: kombu's filesystem transport, messages in {tmp_path / 'broker'}/" in said
    assert "no redis-server installed" in said
    assert "For trying things out only: one machine" in said


def job_statuses(database: Path) -> dict[str, str]:
    """The status of each job, by its first argument, read straight from the SQLite file."""
    with sqlite3.connect(database, timeout=20) as db:
        rows = db.execute("SELECT args, status FROM future_celery_scheduledjob").fetchall()
    return {json.loads(args)[0]: status for args, status in rows}


def test_worker_and_beat_run_jobs_on_the_filesystem_broker(tmp_path):
    """The chooser's filesystem:// with proj's own settings and a new SQLite file: a job due
    at once (handed over right after its commit) and one due in a few seconds (dispatched by
    the tick, held by the worker until its eta) both complete."""
    database = tmp_path / "db.sqlite3"
    env = no_redis_env(tmp_path)
    env["CELERY_BROKER_URL"], _ = choose(env)
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SETTINGS_MODULE="proj.settings",
        FUTURE_CELERY_TICK_INTERVAL="1",
        FUTURE_CELERY_LOOKAHEAD="3",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, check=True, timeout=120)
    honcho = Process("honcho", [str(VENV_BIN / "honcho"), "start", "worker", "beat"], env)
    try:
        honcho.wait_for_output(" ready.")
        honcho.wait_for_output("beat: Starting...")
        subprocess.run(
            [
                *manage,
                "shell",
                "-v0",
                "-c",
                "from future_celery import schedule_job; "
                "schedule_job('0s', 'proj.demo.jobs.record', args=['at-once']); "
                "schedule_job('5s', 'proj.demo.jobs.record', args=['in-5s'])",
            ],
            env=env,
            check=True,
            timeout=60,
        )
        done = {"at-once": "complete", "in-5s": "complete"}
        assert wait_until(lambda: job_statuses(database) == done, timeout=40, interval=0.5), (
            job_statuses(database),
            honcho.output[-3000:],
        )
    finally:
        honcho.stop()
    assert "transport:   filesystem://" in honcho.output
    assert "Traceback" not in honcho.output, honcho.output[-3000:]


def test_the_test_settings_take_a_filesystem_broker(tmp_path):
    """TEST_CELERY_BROKER_URL=filesystem:// gives tests.settings kombu's transport with its
    folders (TEST_CELERY_BROKER_FOLDER), as proj.settings has them for `make run`."""
    env = clean_env(
        DJANGO_SETTINGS_MODULE="tests.settings",
        TEST_CELERY_BROKER_URL="filesystem://",
        TEST_CELERY_BROKER_FOLDER=str(tmp_path),
    )
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps([settings.CELERY_BROKER_TRANSPORT, "
        "settings.CELERY_BROKER_TRANSPORT_OPTIONS]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    transport, options = json.loads(out.stdout)
    assert transport is None  # kombu's own, from the URL
    assert options["data_folder_in"] == options["data_folder_out"] == str(tmp_path / "messages")
    assert options["control_folder"] == str(tmp_path / "control")
    assert (tmp_path / "messages").is_dir()
