"""The Celery app of the example project, configured from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")

app = Celery("proj")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="proj.demo.record_periodic")
def record_periodic(label):
    """A plain Celery task of the project's own, as a CELERY_BEAT_SCHEDULE entry runs it beside
    future_celery's tick (here, not in a tasks module: django-background-tasks' autodiscovery
    imports those again, which would register it twice)."""
    import os

    from django.utils import timezone

    from proj.demo.models import Execution

    Execution.objects.create(label=label, started=timezone.now(), pid=os.getpid())
