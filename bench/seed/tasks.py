"""The seed's @background no-op: the same body as bench.tasks.noop (one RPUSH of label, due
time and start time), found by django-background-tasks' autodiscovery of tasks modules."""

from background_task import background

from bench.tasks import noop


@background
def noop_seed(label, due):
    noop(label, due)
