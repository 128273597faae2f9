"""superdjango's ``Activity`` records, without a table of their own: every run of a
callback already has its ScheduledJob row with the Result's text. ``Activity.log`` keeps the
seed's calls working and writes the result to the logger ``future_celery.scheduler``."""

from __future__ import annotations

import logging
from typing import Any

from ..models import RecurringJob
from .library import Result

logger = logging.getLogger("future_celery.scheduler")


class Activity:
    """What superdjango's Activity model was for: a record of a job's result."""

    @classmethod
    def log(cls, job_id: Any, result: Result) -> None:
        """Log ``result`` of the recurring job whose pk is ``job_id`` (the ``pk`` a callback
        is given) on the logger ``future_celery.scheduler``: one line with the job's label,
        the status and the message (INFO, WARNING for a failure), the output on DEBUG.
        Never raises for a missing job or a bad ``job_id``."""
        label = _label(job_id)
        level = logging.WARNING if getattr(result, "failed", False) else logging.INFO
        status = getattr(getattr(result, "status", None), "name", str(result))
        message = getattr(result, "message", None) or ""
        logger.log(level, "Activity of recurring job %s: %s %s", label, status, message)
        output = getattr(result, "output", None)
        if output:
            logger.debug("Output of recurring job %s:\n%s", label, output)


def _label(job_id: Any) -> str:
    """'label' (#pk), or a line that says the job is not there."""
    try:
        found = RecurringJob.objects.filter(pk=job_id).values_list("label", flat=True).first()
    except (ValueError, TypeError):  # not a primary key
        found = None
    return f"{found!r} (#{job_id})" if found is not None else f"#{job_id} (not found)"
