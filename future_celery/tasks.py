"""The Celery tasks: run_job (one job, by id) and tick (the dispatcher, on celery beat)."""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import TYPE_CHECKING

import billiard.common
from billiard.einfo import ExceptionInfo
from celery import shared_task

from . import dispatch, execution, lifecycle, messages, signal_handlers
from .db import reconnecting
from .exceptions import JobExited
from .heartbeat import heartbeat

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)


_start_delivered = reconnecting(lifecycle.start_delivered)
_expire_delivered = reconnecting(lifecycle.expire_delivered)


# The message is acknowledged when a pool process takes it (Celery's default early ack), not
# after the job: the row, not the message, guards the job (see lifecycle.start_delivered and
# dispatch.republish_stale), and the worker's main process hands out the next job sooner.
# (Its worker-side request: see worker_request.)
# (celery-types' shared_task overloads with bind=True and no base= take no extra options such
# as Request=; base= would replace the app's own Task class.)
@shared_task(  # type: ignore[call-overload]
    name=messages.RUN_JOB,
    bind=True,
    acks_late=False,
    ignore_result=True,
    Request="future_celery.worker_request:JobRequest",
)
def run_job(self: Task[[int], str | None], job_id: int) -> str | None:
    """Claim job ``job_id`` for this message and run it. A duplicate or stale delivery, or a
    message for a cancelled, expired or finished job, does nothing. A failure propagates to
    Celery; the task_failure handler writes it to the row."""
    # The worker's node name as Celery and Flower show it; the pool process apart.
    job = _start_delivered(job_id, self.request.id, self.request.hostname or "worker", os.getpid())
    if job is None:
        if _expire_delivered(job_id, self.request.id):
            logger.info("Job #%s expired before it could start", job_id)
        else:
            logger.info(
                "Job #%s is not waiting for message %s (it started, finished or was "
                "cancelled, or was dispatched anew); ignored",
                job_id,
                self.request.id,
            )
        return None
    with heartbeat.beating(job.pk):
        try:
            execution.execute(job)
        except (Exception, KeyboardInterrupt, GeneratorExit):
            raise  # Celery's task_failure records an Exception (signal_handlers)
        except BaseException as exc:
            if _shutting_down():
                raise  # the pool process is being stopped: its job is lost, and runs again
            # SystemExit (exit(1)) or another BaseException the job raised: Celery's trace
            # would let it end this pool process, and the job be taken for lost. Record it
            # as the job's own failure, through the same write-back as any other, then
            # fail the task with an Exception that names it.
            signal_handlers.on_task_failure(
                sender=self,
                task_id=self.request.id,
                exception=exc,
                args=[job_id],
                einfo=ExceptionInfo(),
            )
            raise JobExited(
                f"job #{job.pk} ({job.callable_name}) raised {exc!r}; recorded on its row as "
                "failed, with its traceback"
            ) from exc
    return job.return_value


def _shutting_down() -> bool:
    """Whether this pool process's own terminate handler raised the SystemExit (billiard
    4.3.2 tells; an older billiard does not, and every SystemExit is then the job's)."""
    fired = getattr(billiard.common, "terminate_handler_fired", None)
    return bool(fired and fired())


@shared_task(name="future_celery.tick", ignore_result=True)
def tick() -> dict[str, int]:
    """Expire, recover and dispatch: see future_celery.dispatch.tick."""
    return dataclasses.asdict(reconnecting(dispatch.tick)())
