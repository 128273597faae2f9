"""django-future 0.2.3's table, django_future_scheduledjob, for the tests of
import_django_future: its columns as its model made them, and its rows written as it wrote
them (django-picklefield's args and kwargs: the base64 text of a protocol 2 pickle).

django-future is not installed (it is Python 2 code), so the model stands here, in an app
label that is not installed: its table is made and dropped by the tests' fixture, and
Django's flush and checks never see it."""

from __future__ import annotations

import base64
import datetime as dt
import pickle
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class OldScheduledJob(models.Model):
    """django_future.models.ScheduledJob's columns (its PickledObjectFields are text)."""

    time_slot_start = models.DateTimeField()
    time_slot_end = models.DateTimeField()
    execution_start = models.DateTimeField(null=True)
    status = models.CharField(max_length=32, default="scheduled")
    content_type_id = models.IntegerField(null=True)
    object_id = models.PositiveIntegerField(null=True)
    callable_name = models.CharField(max_length=255)
    args = models.TextField()
    kwargs = models.TextField()
    error = models.TextField(null=True)
    return_value = models.TextField(null=True)

    class Meta:
        app_label = "django_future"
        db_table = "django_future_scheduledjob"
        managed = False


def pickled(value: Any, protocol: int = 2) -> str:
    """A value as django-picklefield stored it (its default protocol is 2)."""
    return base64.b64encode(pickle.dumps(value, protocol=protocol)).decode()


def encoded(raw: bytes) -> str:
    """Pickle bytes (written by Python 2, say) as django-picklefield stored them."""
    return base64.b64encode(raw).decode()


def old_job(
    callable_name: str,
    *,
    args: Any = (),
    kwargs: Any = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    status: str = "scheduled",
    content_object: models.Model | None = None,
    raw_args: str | None = None,
    raw_kwargs: str | None = None,
) -> OldScheduledJob:
    """A row as django-future's schedule_job() wrote it: args () and kwargs {} unless
    given, an expiry 7 days after the start."""
    start = start or timezone.now().replace(microsecond=0) + dt.timedelta(hours=1)
    return OldScheduledJob.objects.create(
        callable_name=callable_name,
        args=raw_args if raw_args is not None else pickled(args),
        kwargs=raw_kwargs if raw_kwargs is not None else pickled({} if kwargs is None else kwargs),
        time_slot_start=start,
        time_slot_end=end or start + dt.timedelta(days=7),
        status=status,
        content_type_id=(
            ContentType.objects.get_for_model(content_object).pk if content_object else None
        ),
        object_id=content_object.pk if content_object else None,
    )
