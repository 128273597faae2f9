"""Jobs and Django tasks for the tests of the runners (importable by the test workers)."""

import sys

from future_celery.tasks_api import task


def exit_with(code=1):
    """Ends the program as a script would: sys.exit (SystemExit, a BaseException)."""
    sys.exit(code)


@task
def exiting_task(code=3):
    """A Django task that calls exit()."""
    sys.exit(code)
