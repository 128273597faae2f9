"""Receivers that write what Celery knows about a job back to its row. Connected in
apps.FutureCeleryConfig.ready()."""

from __future__ import annotations

import gc
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from billiard.exceptions import WorkerLostError
from celery import signals as celery_signals
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.db.models.signals import post_migrate

from . import conf, front_doors, lifecycle
from .beat import register_tick
from .db import reconnecting
from .exceptions import SQLiteRoleTaken
from .locks import claim_sqlite_role
from .messages import RUN_JOB, run_job_task
from .signals import job_cancelled
from .workers import announcer

if TYPE_CHECKING:
    from .models import ScheduledJob

logger = logging.getLogger(__name__)


def _job_id(args: Sequence[Any] | None) -> int | None:
    if args is None:
        return None
    try:
        return int(args[0])
    except (TypeError, ValueError, IndexError):
        return None


def on_task_failure(
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    args: Sequence[Any] | None = None,
    einfo: Any = None,
    **kwargs: Any,
) -> None:
    """A job raised, hit its time limit, or the pool process running it died (lost with its
    worker, not the job's own failure): record the attempt (lifecycle decides whether it is
    retried: a DoNotRetry is not)."""
    if getattr(sender, "name", None) != RUN_JOB or (job_id := _job_id(args)) is None:
        return
    text = getattr(einfo, "traceback", None) or repr(exception)
    if isinstance(exception, TimeLimitExceeded):
        text = f"Hard time limit exceeded ({exception}): the worker killed the job.\n{text}"
    elif isinstance(exception, SoftTimeLimitExceeded):
        text = f"Soft time limit exceeded.\n{text}"
    lost = isinstance(exception, WorkerLostError)
    if lost:
        text = f"Worker lost: the pool process running this job died ({exception}).\n{text}"
    job = reconnecting(lifecycle.fail_delivered)(
        job_id, task_id, text, lost=lost, exception=exception
    )
    if job is not None and job.task_backend:  # a Django task: its front door reports it
        front_doors.hooks(front_doors.TASK_BACKEND).failed(job)


def on_task_revoked(
    sender: Any = None,
    request: Any = None,
    terminated: bool = False,
    expired: bool = False,
    **kwargs: Any,
) -> None:
    """A job's message was dropped as expired, or revoked (e.g. from Flower)."""
    if getattr(sender, "name", None) != RUN_JOB or request is None:
        return
    if (job_id := _job_id(getattr(request, "args", None))) is None:
        return
    if expired:
        reconnecting(lifecycle.expire_delivered)(job_id, request.id)
    else:
        reconnecting(lifecycle.cancel_delivered)(job_id, request.id)


def on_job_cancelled(sender: Any = None, job: ScheduledJob | None = None, **kwargs: Any) -> None:
    """Revoke the message of a cancelled queued job, so that workers drop it at once
    (without it, the worker's claim would refuse the job anyway)."""
    assert job is not None  # lifecycle.cancel() always sends job=
    if not job.task_id:
        return
    try:
        run_job_task().app.control.revoke(job.task_id)
    except Exception:
        logger.warning(
            "Could not revoke message %s of cancelled job #%s", job.task_id, job.pk, exc_info=True
        )


def freeze_startup_objects(sender: Any = None, **kwargs: Any) -> None:
    """In a worker's main process right before it forks each pool process and once it is
    ready, and in each pool process once it starts: gc.freeze() the objects loaded so far
    (modules, classes, settings: they live as long as the process). A full collection
    otherwise walks them all (over a hundred thousand objects in a Django worker) and stops
    the process each time (docs/performance.md); in the main process that delays every job
    falling due meanwhile. Frozen before the fork, they are also never written to by a pool
    process's collections, so their memory pages stay shared with the main process instead
    of being copied into each pool process. Objects made later are collected as usual."""
    if conf.get("WORKER_GC_FREEZE"):
        gc.freeze()


def _claim_role(role: str) -> None:
    """Refuse to start a second beat or worker on one SQLite database (see locks)."""
    try:
        claim_sqlite_role(role)
    except SQLiteRoleTaken as exc:
        logger.critical("%s", exc)
        raise SystemExit(f"ERROR: {exc}") from None  # Celery's signals swallow Exceptions


def on_beat_init(sender: Any = None, **kwargs: Any) -> None:
    _claim_role("beat")


def on_worker_after_setup(sender: Any = None, **kwargs: Any) -> None:
    _claim_role("worker")


def on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    """The worker's main process announces itself (see workers), once it takes messages."""
    name = getattr(sender, "hostname", None) or "worker"
    try:
        reconnecting(announcer.start)(name)
    except Exception:  # a worker without its heartbeat still runs jobs
        logger.exception(
            "Worker %s could not announce itself; if it dies, its queued jobs "
            "wait for FUTURE_CELERY_REQUEUE_AFTER",
            name,
        )


def on_worker_shutdown(sender: Any = None, **kwargs: Any) -> None:
    announcer.stop()


def on_post_migrate(sender: Any = None, **kwargs: Any) -> None:
    if getattr(sender, "name", None) == "future_celery":
        register_tick(using=kwargs.get("using", "default"))


def connect() -> None:
    celery_signals.task_failure.connect(
        on_task_failure, weak=False, dispatch_uid="future_celery.task_failure"
    )
    celery_signals.task_revoked.connect(
        on_task_revoked, weak=False, dispatch_uid="future_celery.task_revoked"
    )
    celery_signals.beat_init.connect(
        on_beat_init, weak=False, dispatch_uid="future_celery.beat_init"
    )
    # Sent once Django is set up in the worker (worker_init comes before our ready()).
    celery_signals.celeryd_after_setup.connect(
        on_worker_after_setup, weak=False, dispatch_uid="future_celery.worker_after_setup"
    )
    celery_signals.worker_before_create_process.connect(
        freeze_startup_objects,
        weak=False,
        dispatch_uid="future_celery.worker_before_create_process",
    )
    celery_signals.worker_ready.connect(
        freeze_startup_objects, weak=False, dispatch_uid="future_celery.worker_ready"
    )
    celery_signals.worker_process_init.connect(
        freeze_startup_objects, weak=False, dispatch_uid="future_celery.worker_process_init"
    )
    celery_signals.worker_ready.connect(
        on_worker_ready, weak=False, dispatch_uid="future_celery.worker_ready.announce"
    )
    celery_signals.worker_shutdown.connect(
        on_worker_shutdown, weak=False, dispatch_uid="future_celery.worker_shutdown"
    )
    job_cancelled.connect(on_job_cancelled, dispatch_uid="future_celery.job_cancelled")
    post_migrate.connect(on_post_migrate, dispatch_uid="future_celery.post_migrate")
