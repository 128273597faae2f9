"""django-background-tasks' import path on future_celery: change
``from background_task import background`` to
``from future_celery.compat.background_task import background`` and nothing else."""

from future_celery.background_decorator import background

__all__ = ["background"]
