"""future_celery: schedule callables to run at a given time, on Celery, watched in the admin.

from future_celery import schedule_job
schedule_job('5d', 'myapp.jobs.remind', args=[user.id])
"""

from importlib import metadata
from typing import Any

__all__ = [
    "ScheduledJob",
    "background",
    "job_as_parameter",
    "periodic",
    "recurring",
    "run_jobs",
    "schedule_job",
    "schedule_jobs",
]

try:
    __version__ = metadata.version("future_celery")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

# The public names are imported on first use: this package is imported while Django loads
# INSTALLED_APPS, before models may be.
_LOCATIONS = {
    "ScheduledJob": "future_celery.models",
    "background": "future_celery.background_decorator",
    "job_as_parameter": "future_celery.execution",
    "periodic": "future_celery.recurring_jobs",
    "recurring": "future_celery.recurring_jobs",
    "run_jobs": "future_celery.runner",
    "schedule_job": "future_celery.scheduling",
    "schedule_jobs": "future_celery.scheduling",
}


def __getattr__(name: str) -> Any:
    if name in _LOCATIONS:
        import importlib

        return getattr(importlib.import_module(_LOCATIONS[name]), name)
    raise AttributeError(f"module 'future_celery' has no attribute {name!r}")
