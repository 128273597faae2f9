"""Models of the demo app: something to attach jobs to, and a record of every execution."""

import uuid

from django.db import models


class Note(models.Model):
    """A note that can be reminded of: jobs can run its ``remind`` method."""

    title = models.CharField(max_length=200)
    reminders = models.PositiveIntegerField(default=0)

    def __str__(self):
        return self.title

    def remind(self, text="reminder"):
        self.reminders += 1
        self.save(update_fields=["reminders"])
        return f"{self.title}: {text} #{self.reminders}"


class Tag(models.Model):
    """A model with a UUID primary key (content objects of any key type)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=100)

    def shout(self):
        return self.name.upper()


class Execution(models.Model):
    """One row per actual execution of a demo job: lets a test count how often a job ran."""

    label = models.CharField(max_length=200, db_index=True)
    started = models.DateTimeField()
    pid = models.IntegerField()
