"""Running one claimed job: resolve its callable, rebuild its arguments, call it inside a
transaction that also records its completion. Shared by the in-process runner and the
Celery worker; each records failures its own way."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from . import callables, front_doors, lifecycle, scheduling, serialization
from .db import default_connection
from .exceptions import ContentObjectMissing, MalformedJob
from .models import ScheduledJob

F = TypeVar("F", bound=Callable[..., Any])
_JOB_AS_PARAMETER = "_future_celery_job_as_parameter"


def job_as_parameter(func: F) -> F:
    """Mark a job callable so that the running ScheduledJob is passed as its first argument."""
    setattr(func, _JOB_AS_PARAMETER, True)
    return func


def call(job: ScheduledJob) -> Any:
    """Call the job's callable with its arguments, as django-future did: the job first (with
    @job_as_parameter), then the content object (unless it is the method's own object)."""
    ctype = ContentType.objects.get_for_id(job.content_type_id) if job.content_type_id else None
    label = f"{ctype.app_label}.{ctype.model}" if ctype else None
    callables.check_allowed(callables.allow_name(job.callable_name, label))
    leading: list[Any] = []
    if job.content_type_id:
        obj = job.content_object
        if obj is None:
            raise ContentObjectMissing(
                f"the content object of this job ({label} with primary key "
                f"{job.object_id!r}) was deleted before the job ran"
            )
        if "." not in job.callable_name:
            func = callables.resolve_method(obj, job.callable_name)
        else:
            func, leading = callables.resolve_path(job.callable_name), [obj]
    else:
        func = callables.resolve_path(job.callable_name)
    if not isinstance(job.args, list) or not isinstance(job.kwargs, dict):
        raise MalformedJob(
            f"job #{job.pk} has malformed arguments (args must be a JSON list and kwargs a "
            f"JSON object, found {type(job.args).__name__} and {type(job.kwargs).__name__}); "
            "was the row written by hand or by another version?"
        )
    args = leading + serialization.decode(job.args)
    kwargs = serialization.decode(job.kwargs)
    if getattr(func, _JOB_AS_PARAMETER, False):
        args.insert(0, job)
    if job.task_backend:  # a Django task: its front door calls it (see front_doors)
        return front_doors.hooks(front_doors.TASK_BACKEND).call(job, func, args, kwargs)
    return callables.invoke(func, args, kwargs)  # an async def one to its end


class Completion(enum.Enum):
    """Where a job's completion is written, which execute() chooses per job."""

    # The caller's transaction is open (a runner called from a test, say): inside it.
    IN_CALLERS_TRANSACTION = "in the caller's transaction"
    # The job sent queries, or repeats (its next job is saved with its completion): in the
    # job's own transaction, so that they commit together.
    WITH_THE_JOBS_WRITES = "in the job's transaction"
    # The job sent none: alone, in autocommit (one round trip instead of BEGIN, UPDATE and
    # COMMIT; nothing of the job's would commit with it).
    ALONE = "alone, in autocommit"


def execute(job: ScheduledJob, delete_completed: bool = False) -> Completion:
    """Run a job already marked running. Its writes and its completion commit together (and
    a repeating job's next job with them); an exception rolls them back and propagates (the
    caller records the failure). Returns where the completion was written (see Completion)."""
    conn = default_connection()
    if conn.in_atomic_block:
        with transaction.atomic():
            _complete(job, call(job), delete_completed)
        return Completion.IN_CALLERS_TRANSACTION
    queries = _QueryCounter()
    with transaction.atomic(), conn.execute_wrapper(queries):
        result = call(job)
        wrote = (
            queries.count > 0
            or bool(conn.run_on_commit)
            or job.repeat > 0
            or hasattr(result, "__job_outcome__")
        )
        if wrote:
            _complete(job, result, delete_completed)
    if wrote:
        return Completion.WITH_THE_JOBS_WRITES
    lifecycle.complete(job, result, delete=delete_completed)
    return Completion.ALONE


def _complete(job: ScheduledJob, result: Any, delete: bool) -> None:
    """Record the completion in the current transaction, with a repeating job's next job.
    A result that reports its own outcome (``__job_outcome__()``: failed, text, as
    future_celery.scheduler.Result does) is stored as that text, and a failure it reports
    marks the job failed, without a traceback."""
    outcome = getattr(result, "__job_outcome__", None)
    if outcome is not None:
        failed, result = outcome()
        if failed:
            lifecycle.complete_failed(job, result)
            return
    following = scheduling.schedule_repeat(job) if job.repeat > 0 else None
    lifecycle.complete(job, result, delete=delete)
    # Only now, this job no longer pending, may the next one take its unique key.
    scheduling.pass_key_on(job, following)


class _QueryCounter:
    """A database execute wrapper that counts the queries sent through it."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)
