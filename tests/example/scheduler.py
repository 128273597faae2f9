"""The callbacks of the seed's scheduler.ini examples, and registered jobs (the seed's
registry example). Registering only records them in memory: nothing is saved on import."""

from future_celery.scheduler import STATUS, Result, schedule
from future_celery.scheduler.models import Activity


def test_job(**kwargs):
    """Reports the keyword arguments it was given."""
    return Result(STATUS.SUCCESS, message="test job ran", output=repr(sorted(kwargs.items())))


def sunday_cleanup(**kwargs):
    return Result(STATUS.SUCCESS, message="cleaned up")


def failing_job(**kwargs):
    return Result(STATUS.FAILURE, message="the disk is full", output="df says 100%")


def do_something_on_a_recurring_basis(**kwargs):
    job_id = kwargs.pop("pk", None)

    # do some work ...

    result = Result(
        STATUS.SUCCESS,
        message="This may be displayed to a user.",
        output="This may be displayed to administrators or developers.",
    )

    if job_id:
        Activity.log(job_id, result)

    return result


schedule.register("example", do_something_on_a_recurring_basis)
schedule.register("example", test_job, label="registered test job", every="1 week", kwargs={"n": 1})
