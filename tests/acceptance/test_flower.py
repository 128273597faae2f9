"""Flower beside proj's real worker, as the README tells users to run it: a job shows under
its callable's name with its job id (the message's argument and task id), on the worker that
the job's row names. Through Flower's HTTP API, on Redis and on RabbitMQ (the broker fixture).

Flower is started with the very command line the README gives (bound to 127.0.0.1, with
basic authentication), and refuses anonymous requests. It sees tasks through the worker's task
events: proj's settings turn them on (CELERY_WORKER_SEND_TASK_EVENTS); the test settings turn
them off, so this worker gets -E."""

from __future__ import annotations

import base64
import json
import re
import secrets
import shlex
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from future_celery import ScheduledJob, schedule_job
from tests.processes import ROOT, Process, free_port, start_worker, wait_until


def readme_command() -> str:
    """The Flower command line of the README's Flower section."""
    section = (ROOT / "README.md").read_text().split("\n## Flower\n", 1)[1]
    return re.search(r"^    (\.venv/bin/celery -A proj flower .*)$", section, re.M)[1]


pytestmark = pytest.mark.engine


class Flower:
    """`celery -A proj flower` as the README runs it, and its HTTP API (with the login)."""

    def __init__(self, env: dict[str, str], tmp_path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        password_file = tmp_path / ".admin-password"
        password_file.write_text(secrets.token_urlsafe(12))
        self.login = f"admin:{password_file.read_text()}"
        command = readme_command()
        assert "--address=127.0.0.1" in command and "--basic-auth=" in command, command
        command = command.replace(".venv/bin/celery", shlex.join([sys.executable, "-m", "celery"]))
        command = command.replace("--port=5555", f"--port={port}")
        command = command.replace("cat .admin-password", f"cat {shlex.quote(str(password_file))}")
        self.process = Process("flower", ["bash", "-c", f"exec {command}"], env)
        self.process.wait_for_output("Visit me at")

    def request(self, path: str, login: str | None = None):
        request = urllib.request.Request(self.url + path)
        if login is not None:
            token = base64.b64encode(login.encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        return urllib.request.urlopen(request, timeout=10)

    def get(self, path: str) -> dict:
        with self.request(path, self.login) as response:
            return json.load(response)

    def status(self, path: str, login: str | None = None) -> int:
        try:
            with self.request(path, login) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def sees_alive(self, worker: str) -> bool:
        """Whether Flower has this worker's heartbeat events (it receives its events)."""
        return self.get("/api/workers?status=1").get(worker) is True


@pytest.fixture
def worker(process_env, broker):
    worker = start_worker(process_env, extra=("-E",))
    yield worker
    worker.stop()


@pytest.fixture
def flower(process_env, broker, tmp_path):
    flower = Flower(process_env, tmp_path)
    yield flower
    flower.process.stop()


def worker_name(worker: Process) -> str:
    """The worker's node name, as it prints it when it is ready."""
    line = next(line for line in worker.output.splitlines() if " ready." in line)
    return line.split("] ", 1)[1].split(" ready.", 1)[0]


def test_flower_shows_a_job_under_its_callable_on_the_worker_its_row_names(worker, flower):
    name = worker_name(worker)
    assert wait_until(lambda: flower.sees_alive(name), 30), flower.process.output[-3000:]

    job = schedule_job("0s", "proj.demo.jobs.add", args=[2, 3])
    assert wait_until(lambda: ScheduledJob.objects.get(pk=job.pk).is_finished, 30)
    job.refresh_from_db()
    assert job.status == "complete" and job.worker == name and job.worker_pid

    def shown() -> dict:
        return flower.get("/api/tasks?taskname=proj.demo.jobs.add").get(job.task_id, {})

    assert wait_until(lambda: shown().get("state") == "SUCCESS", 20), flower.get("/api/tasks")
    info = flower.get(f"/api/task/info/{job.task_id}")
    assert info["name"] == "proj.demo.jobs.add"  # the job's callable, not run_job
    assert info["uuid"] == job.task_id and job.task_id.startswith(f"fc-{job.pk}-")
    assert (info["args"], info["kwargs"]) == (f"[{job.pk}]", "{}")  # only the job id travels
    assert info["state"] == "SUCCESS" and info["result"] == repr(job.return_value)
    assert info["worker"] == job.worker
    assert shown()["worker"] == job.worker

    workers = flower.get("/api/workers?refresh=1")  # Flower asks the workers (inspect)
    assert job.worker in workers, list(workers)
    assert job.worker_pid in workers[job.worker]["stats"]["pool"]["processes"]


def test_flower_as_the_readme_runs_it_refuses_anonymous_requests(worker, flower):
    name = worker_name(worker)
    for path in ("/", "/tasks", "/tasks/datatable", f"/worker/{name}", "/api/tasks"):
        assert flower.status(path) == 401, path
        assert flower.status(path, "admin:not-the-password") == 401, path
    assert flower.status("/", flower.login) == 200
    assert flower.status(f"/worker/{name}", flower.login) == 200
    # Flower serves /metrics (for Prometheus) without a login whatever its options: it is
    # reachable from this machine only, as the rest.
    assert flower.status("/metrics") == 200


def test_flower_as_the_readme_runs_it_listens_on_the_loopback_interface_only(flower):
    port = int(flower.url.rsplit(":", 1)[1])
    addresses = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    others = [address for address in addresses if "." in address and not address.startswith("127.")]
    assert others, "this machine has no other IPv4 address to try"
    for address in others:
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=3):
            pass
