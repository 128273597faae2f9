"""proj.settings with django-background-tasks installed (only for the benchmark, on its own
database given by DATABASE_URL). Its app comes first so that ``manage.py process_tasks`` is
the seed's command, not future_celery's; bench.seed is where its autodiscovery finds the
benchmark's task (bench/seed/tasks.py). Every django-background-tasks setting is left at
its default (BACKGROUND_TASK_RUN_ASYNC off: one task at a time, in the command's process)."""

from proj.settings import *  # noqa: F403
from proj.settings import INSTALLED_APPS as PROJ_APPS

INSTALLED_APPS = ["background_task", *PROJ_APPS, "bench.seed"]
