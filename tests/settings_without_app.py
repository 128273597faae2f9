"""A project that names FutureCeleryBackend in TASKS but left the future_celery app out of
INSTALLED_APPS (the tests of the backend's check: tests/integration/test_tasks_backend.py)."""

# A project's task modules import the framework (`from django.tasks import task`), which
# registers its check of every backend; this project has none, so it imports it here.
from future_celery import tasks_api

SECRET_KEY = "tests-only"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
if tasks_api.SOURCE == "django_tasks":  # Django 5.2: the backport is an app of its own
    INSTALLED_APPS.append("django_tasks")
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
TASKS = {"default": {"BACKEND": "future_celery.tasks_backend.FutureCeleryBackend"}}
