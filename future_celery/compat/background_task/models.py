"""django-background-tasks' ``models.Task`` constants (its repeat intervals), for code that
reads them as ``Task.DAILY``. The jobs themselves are future_celery.ScheduledJob rows; this
module defines no model."""

from future_celery import background_decorator


class Task:
    """The repeat intervals of django-background-tasks' Task, in seconds."""

    NEVER = background_decorator.NEVER
    HOURLY = background_decorator.HOURLY
    DAILY = background_decorator.DAILY
    WEEKLY = background_decorator.WEEKLY
    EVERY_2_WEEKS = background_decorator.EVERY_2_WEEKS
    EVERY_4_WEEKS = background_decorator.EVERY_4_WEEKS


__all__ = ["Task"]
