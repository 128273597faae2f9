"""Settings of future_celery, each with its default.

Every setting is read through :func:`get`, which remembers each value until Django
reports a change of that setting (``override_settings``, pytest-django's ``settings``): a
setting left at its default would otherwise cost a failed attribute lookup on every read,
and the worker and ``schedule_job`` read several per job. No other module keeps a value.
(A value assigned to django.conf.settings by hand, without the signal, is not seen once
the setting has been read: change settings with override_settings, as Django expects.)
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from .exceptions import UnknownSetting

PREFIX = "FUTURE_CELERY_"

DEFAULTS: dict[str, Any] = {
    # Seconds between two ticks of the dispatcher on celery beat. Each tick sends the messages
    # of the jobs that entered the look-ahead since the last one, and a worker takes them up
    # at once: short ticks keep those batches small (a tick costs a few index probes).
    "TICK_INTERVAL": 1.0,
    # Jobs due within this many seconds of now are dispatched with an eta. Long enough for the
    # workers to take up a burst of jobs due at one moment before it falls due; a worker
    # holds each message it took until its job starts (see docs/performance.md for the
    # rates and sizes measured).
    "LOOKAHEAD": 20.0,
    # Dispatch a job due within the look-ahead right after the commit that scheduled it,
    # instead of waiting for the next tick.
    "DISPATCH_ON_COMMIT": True,
    # Longest wait, in seconds, of a call that schedules a job due within the look-ahead on
    # the broker when it hands the job over after the commit (connecting, each send and
    # receive), without Celery's publish retries. If the broker fails, the job stays
    # scheduled and the tick dispatches it; for a few seconds after, such calls leave their
    # jobs to the tick without trying the broker.
    "BROKER_TIMEOUT": 0.5,
    # How many due rows one tick claims per batch.
    "DISPATCH_BATCH_SIZE": 500,
    # Expiry of a job when schedule_job is given none; counted from the scheduled time.
    "DEFAULT_EXPIRES": "7d",
    # Attempts a job gets before it is failed for good (1 = no retry).
    "MAX_ATTEMPTS": 1,
    # Times a job's attempt may be lost with its worker (killed, out of memory, host gone) and
    # run again without counting against its max_attempts; lost once more, it is failed (a
    # job that itself kills its worker ends failed instead of looping).
    "MAX_LOST": 3,
    # Retry backoff: base * 2 ** (attempt - 1) seconds, capped, with full jitter.
    "RETRY_BACKOFF": 5.0,
    "RETRY_BACKOFF_MAX": 600.0,
    # Per-job time limits in seconds (None = Celery's default, no limit).
    "SOFT_TIME_LIMIT": None,
    "TIME_LIMIT": None,
    # A queued job that has not started this many seconds after its time is dispatched again.
    "REQUEUE_AFTER": 300.0,
    # Seconds between heartbeats of a running job, and of each worker's main process; a job or
    # worker whose heartbeat is older than HEARTBEAT_TIMEOUT is lost: the job runs again, and
    # the messages of queued jobs the worker may have held are sent again.
    "HEARTBEAT_INTERVAL": 10.0,
    "HEARTBEAT_TIMEOUT": 60.0,
    # The project's Celery app, which future_celery publishes through, as `celery -A` takes
    # it: "yourproject.celery:app" (None: the app the project loaded, the one `from .celery
    # import app as celery_app` in yourproject/__init__.py makes; never Celery's default).
    "CELERY_APP": None,
    # Celery queue and priority of jobs that name none (None = the Celery defaults).
    "DEFAULT_QUEUE": None,
    "DEFAULT_PRIORITY": None,
    # Keep the rows of completed jobs (False deletes them once they complete).
    "KEEP_COMPLETED": True,
    # Dotted-path patterns (fnmatch) of the callables that may be scheduled; None allows all.
    "ALLOWED_CALLABLES": None,
    # Longest traceback / return value text kept on a row, in characters.
    "MAX_TEXT_LENGTH": 10_000,
    # False: on PostgreSQL, the worker's claim of a job, and the completion of a job that
    # wrote nothing to the database, commit without waiting for their WAL flush, which
    # PostgreSQL then does within a fraction of a second; a crash of the database server
    # before it forgets them (the job is then treated as still queued: it runs again; or as
    # still running: retried, or failed as lost). True waits for every flush: slower.
    "SYNCHRONOUS_COMMIT": False,
    # Move the objects a worker process has at start-up out of the garbage collector's reach
    # (gc.freeze), so that its full collections stop pausing it (docs/performance.md).
    "WORKER_GC_FREEZE": True,
    # Jobs scheduled through @background (django-background-tasks): their attempts (read
    # when such a job fails, unless it has a max_attempts of its own), and the wait before
    # each retry: "polynomial" (that project's attempts ** 4 + 5 seconds) or
    # "exponential" (RETRY_BACKOFF, doubling, as schedule_job's jobs).
    "BACKGROUND_MAX_ATTEMPTS": 25,
    "BACKGROUND_BACKOFF": "polynomial",
    # The order in which process_tasks runs the due jobs: "DESC" runs higher priorities
    # first (django-background-tasks' default), "ASC" lower ones (its "niceness" order).
    "PRIORITY_ORDERING": "DESC",
    # superdjango's scheduler: the INI file of recurring jobs (None: config/scheduler.ini
    # under settings.BASE_DIR, or under the working directory without BASE_DIR), and the
    # name of the apps' modules that register jobs with future_celery.scheduler.schedule.
    "SCHEDULER_PATH": None,
    "SCHEDULER_MODULE_NAME": "scheduler",
}


_values: dict[str, Any] = {}


def get(name: str) -> Any:
    """The value of ``FUTURE_CELERY_<name>``, or its default."""
    try:
        return _values[name]
    except KeyError:
        if name not in DEFAULTS:
            raise UnknownSetting(f"future_celery has no setting {name!r}") from None
    value = _values[name] = getattr(settings, PREFIX + name, DEFAULTS[name])
    return value


def _forget(*, setting: str, **kwargs: Any) -> None:
    """Drop the remembered value of a setting that has just changed."""
    if setting.startswith(PREFIX):
        _values.pop(setting[len(PREFIX) :], None)


# Connected here, not in apps.ready(): the cache must never outlive a change, whenever the
# first read happens.
setting_changed.connect(_forget, dispatch_uid="future_celery.conf")
