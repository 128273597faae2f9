"""Flower beside proj's real worker, as the README tells users to run it: a job shows under
its callable's name with its job id (the message's argument and task id), on the worker that
the job's row names. Through Flower's HTTP API, on Redis and on RabbitMQ (the broker fixture).

Flower sees tasks through the worker's task events: proj's settings turn them on
(CELERY_WORKER_SEND_TASK_EVENTS); the test settings turn them off, so this worker gets -E.
Flower 2.2 answers its API without authentication only with FLOWER_UNAUTHENTICATED_API."""

from __future__ import annotations

import json
import urllib.request

import pytest

from future_celery import ScheduledJob, schedule_job
from tests.processes import Process, celery_command, free_port, start_worker, wait_until

pytestmark = pytest.mark.engine


class Flower:
    """A `celery -A proj flower` process and its HTTP API."""

    def __init__(self, env: dict[str, str]) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.process = Process(
            "flower",
            celery_command("flower", f"--port={port}", "--address=127.0.0.1"),
            {**env, "FLOWER_UNAUTHENTICATED_API": "true"},
        )
        self.process.wait_for_output("Visit me at")

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.load(response)

    def sees_alive(self, worker: str) -> bool:
        """Whether Flower has this worker's heartbeat events (it receives its events)."""
        return self.get("/api/workers?status=1").get(worker) is True


@pytest.fixture
def worker(process_env, broker):
    worker = start_worker(process_env, extra=("-E",))
    yield worker
    worker.stop()


@pytest.fixture
def flower(process_env, broker):
    flower = Flower(process_env)
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
