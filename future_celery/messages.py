"""Sending the run_job messages of a batch of claimed jobs.

Each message is the one ``run_job.apply_async(args=[job_id], task_id=..., shadow=..., eta=...,
expires=..., queue=..., priority=..., time_limit=..., soft_time_limit=...)`` would send:
Celery builds it (``app.amqp.create_task_message``) and sends it (``app.amqp.send_task_message``,
which also sends the before/after_task_publish signals). What apply_async would work out anew
for every message, and is the same for the whole batch, is worked out once per batch here: the
task's options and routing, and the app's settings (each read of a Celery setting that comes
from Django's settings is slow, and apply_async reads seven). A batch then goes out several
times as fast (docs/performance.md), so the tick hands a burst of due jobs to the workers
before they fall due.

One difference from apply_async: no message gets a time to live (AMQP's ``expiration``
property, which apply_async derives from ``expires``). On RabbitMQ a message past its time to
live is dropped by the broker unseen, so no worker would mark its job expired: the row stayed
queued, and each resend of its message (with a time to live of 0) was dropped too unless a
worker could take it at once. Without it, the worker that gets the message finds it expired
(the ``expires`` header) and marks the row, as on Redis, which has no time to live at all.

Where Celery would do more for a message than that (eager mode; RabbitMQ quorum queues, whose
eta messages go through a delayed exchange), every message goes through apply_async.

This depends on APIs that Celery does not document as public, listed by private_apis(), which
tests/unit/test_private_apis.py checks, so that a Celery upgrade that changes one says so:
``Task._get_exec_options``, ``celery.utils.quorum_queues.detect_quorum_queues``, the keywords
of ``app.amqp.create_task_message`` (``AMQP.as_task_v2``), and ``app.thread_oid``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from celery.utils.nodenames import anon_nodename
from celery.utils.quorum_queues import detect_quorum_queues
from kombu import Queue
from kombu.common import Broadcast
from kombu.exceptions import OperationalError

from . import celery_app

RUN_JOB = "future_celery.run_job"  # the task's name (future_celery.tasks defines it)


def run_job_task() -> Any:
    """The run_job task of the project's Celery app (future_celery.celery_app.get(): never
    Celery's default app, which would publish to amqp://localhost), from the app's own
    registry of tasks (future_celery.tasks registers it when the Django app loads): this
    module and the dispatcher sit below the tasks module and do not import it. Raises
    CeleryAppNotConfigured in a process where the project loaded no Celery app."""
    return celery_app.get().tasks[RUN_JOB]


# One claimed job, as the dispatcher hands it over: id, callable name (the message's shadow
# name), scheduled time, expiry, queue, priority, soft and hard time limits, task id.
Row = tuple[
    int, str, dt.datetime, dt.datetime | None, str, int | None, float | None, float | None, str
]


def send(
    producer: Any, rows: Sequence[Row], now: dt.datetime, retry: bool | None = None
) -> list[tuple[Row, Exception]]:
    """Publish one run_job message per row over ``producer``. A job due after ``now`` gets
    its scheduled time as eta. ``retry``: Celery's publish retries (None: the app's
    task_publish_retry).

    A bulkhead: a row whose message cannot be built or sent for a reason of its own (a
    priority the broker cannot encode, a queue name it refuses, a router that raises for it)
    is set aside, and the rows after it still go out; the rows set aside are returned with
    their errors. An error of the connection or its channel (the broker down, a channel
    closed) raises, for the whole batch."""
    run_job = run_job_task()
    app = run_job.app
    connection = producer.connection
    # kombu raises OperationalError for a connection it could not (re)establish.
    broker_errors = (
        OSError,
        OperationalError,
        *connection.connection_errors,
        *connection.channel_errors,
    )
    set_aside: list[tuple[Row, Exception]] = []
    if app.conf.task_always_eager or detect_quorum_queues(app, connection.transport.driver_type)[0]:
        for row in rows:
            try:
                run_job.apply_async(
                    producer=producer, retry=retry, **_apply_async_options(row, now)
                )
            except broker_errors:
                raise
            except Exception as exc:
                set_aside.append((row, exc))
        return set_aside
    amqp, name = app.amqp, run_job.name
    parent = app.current_worker_task  # set when a job schedules jobs due at once
    common = {
        "reply_to": app.thread_oid,
        "create_sent_event": app.conf.task_send_sent_event,
        "origin": anon_nodename(),
        "ignore_result": run_job.ignore_result,
        "root_id": (parent.request.root_id or parent.request.id) if parent else None,
        "parent_id": parent.request.id if parent else None,
    }
    routes: dict[tuple, dict] = {}
    for row in rows:
        job_id, shadow, start, end, queue, priority, soft, hard, task_id = row
        try:
            route = routes.get((queue, priority))
            if route is None:
                route = _route(run_job, queue, priority, job_id)
                _declare(producer, route)
                routes[queue, priority] = route
            message = amqp.create_task_message(
                task_id,
                name,
                [job_id],
                {},
                eta=start if start > now else None,
                expires=end,
                shadow=shadow,
                time_limit=hard,
                soft_time_limit=soft,
                argsrepr=f"[{job_id}]",
                kwargsrepr="{}",
                **common,
            )
            amqp.send_task_message(producer, name, message, retry=retry, **route)
        except broker_errors:
            raise
        except Exception as exc:
            set_aside.append((row, exc))
    return set_aside


def _route(task: Any, queue: str, priority: int | None, job_id: int) -> dict:
    """The routing options apply_async would find for a run_job message to ``queue`` (or the
    task's routes when empty) with ``priority``: the task's own options, then the app's
    routers (which see the first job's arguments of the batch)."""
    options = dict(task._get_exec_options(), queue=queue or None, priority=priority)
    for handled_per_message in ("time_limit", "soft_time_limit", "expires", "ignore_result"):
        options.pop(handled_per_message, None)
    return task.app.amqp.router.route(options, task.name, [job_id], {}, task)


def _declare(producer: Any, route: dict) -> None:
    """Declare the route's queue once for the batch, as Celery would before each message
    (kombu remembers it per connection, but checking costs a copy of the queue each time)."""
    queue = route.get("queue")
    if isinstance(queue, Queue) and not isinstance(queue, Broadcast):
        producer.maybe_declare(queue)
        route["declare"] = []


def _apply_async_options(row: Row, now: dt.datetime) -> dict:
    job_id, shadow, start, end, queue, priority, soft, hard, task_id = row
    return {
        "args": [job_id],
        "task_id": task_id,
        "shadow": shadow,
        "eta": start if start > now else None,
        "expires": end,
        "queue": queue or None,
        "priority": priority,
        "soft_time_limit": soft,
        "time_limit": hard,
    }


def private_apis() -> list[tuple[str, Any, tuple[str, ...] | None]]:
    """Each private API this module uses: its name, the object, and the parameter names it
    is called with (each must be in its signature; None where there is none to read)."""
    from celery import Celery
    from celery.app.amqp import AMQP
    from celery.app.task import Task

    return [
        (
            "celery Task._get_exec_options",
            # private API, listed on purpose (the stubs leave it out)
            Task._get_exec_options,  # type: ignore[attr-defined]
            ("self",),
        ),
        (
            "celery.utils.quorum_queues.detect_quorum_queues",
            detect_quorum_queues,
            ("app", "driver_type"),
        ),
        (
            "celery AMQP.as_task_v2 (app.amqp.create_task_message)",
            AMQP.as_task_v2,
            (
                "task_id",
                "name",
                "args",
                "kwargs",
                "eta",
                "expires",
                "shadow",
                "time_limit",
                "soft_time_limit",
                "argsrepr",
                "kwargsrepr",
                "reply_to",
                "create_sent_event",
                "origin",
                "ignore_result",
                "root_id",
                "parent_id",
            ),
        ),
        ("celery Celery.thread_oid", Celery.__dict__["thread_oid"], None),
    ]
