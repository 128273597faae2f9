from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from .exceptions import TasksFrameworkMissing


class FutureCeleryConfig(AppConfig):
    name = "future_celery"
    verbose_name = _("Jobs")  # the admin's section: scheduled and recurring jobs, workers
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The composition root: it wires the layers together. The checks register on
        # import; the tasks module registers run_job and tick with Celery; the model's
        # convenience methods get the functions behind them from the layers above it. The
        # scheduler (superdjango's) adds its loaders to recurring_jobs.sync_all on import.
        from . import checks, lifecycle, scheduler, scheduling, signal_handlers, tasks  # noqa: F401
        from .models import ScheduledJob

        ScheduledJob.operations.update(
            cancel=lifecycle.cancel, reschedule=scheduling.reschedule_job
        )
        signal_handlers.connect()
        # Django's Tasks backend, where there is django.tasks (Django 6) or its backport
        # (Django 5.2): its hooks run the rows of Django tasks (see front_doors).
        try:
            from . import tasks_results  # noqa: F401
        except TasksFrameworkMissing:
            pass
