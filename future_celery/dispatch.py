"""The dispatcher: hands due jobs to Celery. It runs as the tick task on celery beat, right
after the commit of a job scheduled within the look-ahead, and from runscheduledjobs
--dispatch. Only the job id travels in the message; the row stays the source of truth."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterable

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import broker, conf, front_doors, lifecycle, messages, recurring_jobs, workers
from .models import ScheduledJob

logger = logging.getLogger(__name__)

Job = ScheduledJob


@dataclasses.dataclass
class TickReport:
    expired: int = 0
    republished: int = 0
    resent_for_lost_workers: int = 0
    recovered: int = 0
    occurrences: int = 0
    dispatched: int = 0


def tick(now: dt.datetime | None = None) -> TickReport:
    """One pass: expire overdue jobs, resend messages not taken up and messages lost workers
    may have held, take back running jobs of lost workers, make the occurrences of recurring
    jobs due soon, dispatch what is due soon."""
    now = now or timezone.now()
    report = TickReport(
        expired=lifecycle.expire_overdue(now),
        republished=republish_stale(now),
        resent_for_lost_workers=resend_for_lost_workers(now),
        recovered=lifecycle.recover_lost(now),
        occurrences=recurring_jobs.make_occurrences(now),
    )
    report.dispatched = dispatch_due(now)
    if report != TickReport():
        logger.info("Tick: %s", report)
    return report


def dispatch_due(
    now: dt.datetime | None = None, ids: Iterable[int] | None = None, bounded: bool = False
) -> int:
    """Claim and publish, batch by batch, the scheduled jobs due within the look-ahead
    (only those in ``ids`` when given). Returns how many were published. ``bounded``: over
    the connections of future_celery.broker, which give up after BROKER_TIMEOUT."""
    now = now or timezone.now()
    publisher()  # no project's Celery app: refused before any row is claimed
    horizon = now + dt.timedelta(seconds=conf.get("LOOKAHEAD"))
    size = conf.get("DISPATCH_BATCH_SIZE")
    if ids is not None:
        # A batch per slice of the ids, so that no query names more than a batch of them
        # (naming all of them in each made large calls slow: docs/performance.md).
        ids = list(ids)
        total = 0
        for start in range(0, len(ids), size):
            sent = _publish(
                lifecycle.queue_due(now, horizon, ids[start : start + size]), now, bounded
            )
            if bounded and not broker.available():
                break  # the broker failed: the rest stays scheduled for the tick
            total += sent
        return total
    total = 0
    while True:
        batch = lifecycle.queue_due(now, horizon, None)
        total += _publish(batch, now, bounded)
        if len(batch) < size:
            return total


def dispatch_on_commit(jobs: Iterable[Job]) -> None:
    """Dispatch the given new jobs that fall due within the look-ahead right after the
    current transaction commits (never before; not at all if it rolls back). The caller
    waits on the broker at most about BROKER_TIMEOUT; if the broker fails, or failed a
    moment ago, the jobs stay scheduled and the tick dispatches them. (The callers checked
    before inserting them that this process has a Celery app to hand them to: publisher().)"""
    horizon = timezone.now() + dt.timedelta(seconds=conf.get("LOOKAHEAD"))
    ids = [job.pk for job in jobs if job.time_slot_start <= horizon]
    if ids:
        transaction.on_commit(lambda: _dispatch_quietly(ids), robust=True)


def publisher() -> None:
    """Raise CeleryAppNotConfigured in a process where the project loaded no Celery app:
    jobs handed over there would go to Celery's default broker, amqp://localhost, unseen
    (see future_celery.celery_app)."""
    messages.run_job_task()


def _dispatch_quietly(ids: list[int]) -> None:
    if not broker.available():
        return  # it failed a moment ago: the tick dispatches these
    try:
        dispatch_due(ids=ids, bounded=True)
    except Exception:  # the tick dispatches them instead
        logger.exception("Dispatch of jobs %s after commit failed; the tick will retry", ids)


# The wait before a job's message is sent again doubles up to REQUEUE_AFTER * 2 ** MAX_DOUBLINGS.
MAX_DOUBLINGS = 6


def republish_stale(now: dt.datetime | None = None) -> int:
    """Send again the message of each queued job that has not started REQUEUE_AFTER seconds
    after its message was due: the message was lost (a broker restarted empty, a queue
    purged) or it waits behind a backlog. It goes out under the same task id, so the first
    of the two messages to reach a worker runs the job and the other finds it taken. Each
    further resend of a job waits twice as long as the one before, so a backlog that takes
    far longer than REQUEUE_AFTER to drain costs a few extra messages per job at most,
    never a cycle in which every message is replaced before a worker reaches it.
    Returns how many messages were sent again."""
    now = now or timezone.now()
    if not _stale(now, first_wait_only=True).exists():  # the usual case: one index probe
        return 0
    return _resend(
        lambda: _stale(now), now, "queued jobs not started in time (lost, or behind a backlog)"
    )


def resend_for_lost_workers(now: dt.datetime | None = None) -> int:
    """Send again the messages of the queued jobs that a worker found lost (see workers)
    may have held: those whose last message went out before it died (a heartbeat interval
    after its last heartbeat, at the latest). Same task ids: a copy that a live worker holds
    too runs the job once. Returns how many messages were sent again."""
    now = now or timezone.now()
    total = 0
    for lost in workers.find_lost(now):
        died_by = lost.last_seen + dt.timedelta(seconds=2 * conf.get("HEARTBEAT_INTERVAL"))

        def sent_before_death(died_by: dt.datetime = died_by) -> QuerySet[Job]:
            return Job.objects.filter(status=Job.STATUS_QUEUED, queued_at__lte=died_by).order_by(
                "queued_at"
            )

        total += _resend(
            sent_before_death,
            now,
            f"queued jobs whose messages lost worker {lost.name} may have held",
        )
    return total


def _resend(candidates: Callable[[], QuerySet[Job]], now: dt.datetime, why: str) -> int:
    """Send again, batch by batch, the messages of the queued jobs ``candidates()`` finds,
    each under its task id. Returns how many."""
    total = 0
    while True:
        rows = lifecycle.take_for_resend(candidates(), now)
        if rows:
            logger.warning("Sending again the messages of %s %s", len(rows), why)
        total += _publish(rows, now)
        if len(rows) < conf.get("DISPATCH_BATCH_SIZE"):
            return total


def _stale(now: dt.datetime, first_wait_only: bool = False) -> QuerySet[Job]:
    """Queued jobs whose last message went out more than LOOKAHEAD + REQUEUE_AFTER * 2 **
    (messages sent - 1) seconds ago (the look-ahead covers a message's eta), oldest first.
    With ``first_wait_only``, a superset: those past the first wait, whatever their count."""

    def sent_before(doublings: int) -> dt.datetime:
        wait = conf.get("LOOKAHEAD") + conf.get("REQUEUE_AFTER") * 2**doublings
        return now - dt.timedelta(seconds=wait)

    # A range of the partial index fc_queued_idx.
    candidates = Job.objects.filter(status=Job.STATUS_QUEUED, queued_at__lt=sent_before(0))
    if first_wait_only:
        return candidates
    waited = Q(dispatches__lte=1)  # past the first wait: all candidates
    waited |= Q(dispatches__gt=MAX_DOUBLINGS, queued_at__lt=sent_before(MAX_DOUBLINGS))
    for doublings in range(1, MAX_DOUBLINGS):
        waited |= Q(dispatches=doublings + 1, queued_at__lt=sent_before(doublings))
    return candidates.filter(waited).order_by("queued_at")


def _publish(batch: list[tuple], now: dt.datetime, bounded: bool = False) -> int:
    """Send one run_job message per claimed job over one broker connection, buffered into
    pipelined writes where the transport can (kombu's Producer.batch: Redis). If the broker
    fails, the whole batch goes back to scheduled: a message that did get out carries a task
    id that is no longer the job's, so the worker ignores it. A job whose own message cannot
    be built or sent (see messages.send) is failed with that error, alone: the rest of its
    batch goes out, and it does not hold back every batch after it. ``bounded``: over the
    connections of future_celery.broker, without Celery's publish retries. Returns how many
    messages went out."""
    if not batch:
        return 0
    app = messages.run_job_task().app
    try:
        if bounded:
            pool = broker.producers(app)
            with (
                pool.acquire(block=True, timeout=conf.get("BROKER_TIMEOUT")) as producer,
                # celery-types' kombu stubs lack Producer.batch() (kombu 5.7 has it)
                producer.batch(max_size=1000),  # type: ignore[attr-defined]
            ):
                set_aside = messages.send(producer, batch, now, retry=False)
        else:
            with app.producer_or_acquire() as producer, producer.batch(max_size=1000):
                set_aside = messages.send(producer, batch, now)
    except Exception as exc:
        if bounded:
            broker.failed(app, len(batch), exc)
        else:
            logger.warning(
                "Could not hand %s due jobs to the broker %s (%s: %s); they go back "
                "to scheduled and the next tick tries again",
                len(batch),
                app.connection_for_write().as_uri(),
                type(exc).__name__,
                exc,
            )
            logger.debug("The broker's error", exc_info=exc)
        lifecycle.unqueue([row[-1] for row in batch])
        return 0
    for row, error in set_aside:
        _fail_unsendable(row, error)
    return len(batch) - len(set_aside)


def _fail_unsendable(row: tuple, exc: Exception) -> None:
    job_id, callable_name, _, _, queue, priority, soft, hard, task_id = row
    error = (
        f"future_celery could not send this job's message to the broker: "
        f"{type(exc).__name__}: {exc}\n"
        f"Its options: queue {queue!r}, priority {priority!r}, soft time limit {soft!r}, "
        f"time limit {hard!r}. The rest of its batch was sent. Schedule it again with options "
        "the broker takes (priority 0-255; a queue name of at most 255 bytes)."
    )
    logger.error("Job #%s (%s) failed: %s", job_id, callable_name, error)
    job = lifecycle.fail_unsent(job_id, task_id, error)
    if job is not None and job.task_backend:  # a Django task: its front door reports it
        front_doors.hooks(front_doors.TASK_BACKEND).failed(job)


def forget_broker() -> None:
    """Forget what this process knows of the broker (its connections for dispatch after
    commit, a recent failure): for a process whose broker settings changed."""
    broker.forget()
