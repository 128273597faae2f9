"""Django tasks on proj's real Procfile worker: @task functions enqueued by a view (through
Django's test client) run on a fresh `celery worker` process, which imports their module
(registering each function) when their first row reaches it; their TaskResult is then read
back by another process (`manage.py shell`). Django's task signals are sent where they
should be: task_enqueued in the web process, task_started and task_finished in the worker's.
On Redis and on RabbitMQ (the broker fixture)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from django.db import transaction

from future_celery import ScheduledJob
from future_celery.tasks_api import default_task_backend
from proj.demo.django_tasks import add
from proj.demo.models import Execution
from tests.conftest import base_env
from tests.processes import wait_until

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

# Printed by another process: each result as Django's API gives it.
READ_BACK = """
import json, sys
from future_celery.tasks_api import default_task_backend as backend
out = {}
for name, result_id in json.loads(sys.argv[-1]).items():
    r = backend.get_result(result_id)
    out[name] = {
        "status": r.status,
        "return_value": r.return_value if r.status == "SUCCESSFUL" else None,
        "errors": [e.exception_class_path for e in r.errors],
        "worker_ids": r.worker_ids,
        "attempts": r.attempts,
        "task": r.task.module_path,
    }
print(json.dumps(out))
"""


def read_elsewhere(manage_py, ids: dict[str, str]) -> dict:
    script = READ_BACK.replace("sys.argv[-1]", repr(json.dumps(ids)))
    out = subprocess.run(
        [*manage_py, "shell", "-c", script],
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def signals_of(result_id: str) -> dict[str, int]:
    """The signals the demo's receivers recorded for a result: label → sending process."""
    return dict(
        Execution.objects.filter(label__contains=f":{result_id}:").values_list("label", "pid")
    )


def test_tasks_enqueued_by_a_view_run_on_the_worker_and_are_read_back_elsewhere(
    worker, admin_client, broker, manage_py
):
    label = f"django-tasks-{broker.kind}"
    response = admin_client.post("/tasks/", {"label": label})
    assert response.status_code == 200
    ids = response.json()
    assert wait_until(
        lambda: all(default_task_backend.get_result(i).is_finished for i in ids.values()), 30
    ), worker.output[-3000:]

    results = read_elsewhere(manage_py, ids)
    assert results["add"]["status"] == "SUCCESSFUL" and results["add"]["return_value"] == 5
    assert results["greet"]["return_value"] == "Hello, Ada!"  # async def, on the worker
    report = results["report_attempt"]
    assert report["status"] == "SUCCESSFUL"
    assert report["return_value"]["attempt"] == 1  # its TaskContext
    assert report["return_value"]["id"] == ids["report_attempt"]
    worker_pid = report["return_value"]["pid"]
    assert worker_pid != os.getpid()
    assert results["fail"]["status"] == "FAILED"
    assert results["fail"]["errors"] == ["builtins.ValueError"]
    for name, result in results.items():
        assert result["task"] == f"proj.demo.django_tasks.{name}"
        assert result["attempts"] == 1 and len(result["worker_ids"]) == 1
        assert result["worker_ids"][0].startswith("w") and "@" in result["worker_ids"][0]
    assert Execution.objects.filter(label=label).count() == 1  # report_attempt ran once

    web = os.getpid()
    report_id, fail_id = ids["report_attempt"], ids["fail"]
    assert signals_of(report_id) == {
        f"task_enqueued:{report_id}:READY": web,
        f"task_started:{report_id}:RUNNING": worker_pid,
        f"task_finished:{report_id}:SUCCESSFUL": worker_pid,
    }
    # A failed attempt's writes roll back, task_started's record with them; task_finished
    # comes from the worker's failure handler, in the pool process that ran it.
    fail_signals = signals_of(fail_id)
    assert fail_signals[f"task_enqueued:{fail_id}:READY"] == web
    finished_pid = fail_signals[f"task_finished:{fail_id}:FAILED"]
    failed_row = ScheduledJob.objects.get(pk=int(fail_id))
    assert finished_pid != web and failed_row.worker_pid == finished_pid
    assert results["fail"]["worker_ids"] == [failed_row.worker]


def test_a_row_whose_function_is_gone_fails_on_the_worker_with_a_readable_result(worker, manage_py):
    """The task's function was renamed by a deploy after its row was written: the worker
    fails the row, sends task_finished (FAILED) from the pool process, and every process
    reads a FAILED result whose error says the function could not be imported."""
    missing = "proj.demo.django_tasks.renamed_since"
    with transaction.atomic():  # dispatched once it commits, renamed by then
        enqueued = add.enqueue(2, 3)
        ScheduledJob.objects.filter(pk=int(enqueued.id)).update(callable_name=missing)
    result_id = enqueued.id
    assert wait_until(lambda: default_task_backend.get_result(result_id).is_finished, 30), (
        worker.output[-3000:]
    )

    (result,) = read_elsewhere(manage_py, {"gone": result_id}).values()
    assert result["status"] == "FAILED" and result["task"] == missing
    assert result["errors"] == ["future_celery.exceptions.CallableNotFound"]
    failed_row = ScheduledJob.objects.get(pk=int(result_id))
    assert f"{missing!r}" in failed_row.error.rstrip().splitlines()[-1]
    assert signals_of(result_id) == {
        f"task_enqueued:{result_id}:READY": os.getpid(),
        f"task_finished:{result_id}:FAILED": failed_row.worker_pid,
    }
    assert failed_row.worker_pid != os.getpid()
