"""Job callables that only the tests schedule (importable by the test workers too)."""

import gc


def frozen_objects() -> int:
    """How many objects this process keeps out of the garbage collector's reach."""
    return gc.get_freeze_count()


def kill_own_process():
    """Dies as a job that runs its pool process out of memory would: SIGKILL, mid-job."""
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)
