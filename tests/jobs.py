"""Job callables that only the tests schedule (importable by the test workers too)."""

import gc


def frozen_objects() -> int:
    """How many objects this process keeps out of the garbage collector's reach."""
    return gc.get_freeze_count()
