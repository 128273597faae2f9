"""Work started in a thread of the test process, on a database connection of its own."""

import threading
from collections.abc import Callable

from django.db import connection


def in_thread(work: Callable[[], object]) -> threading.Thread:
    """Start ``work`` in a new thread (which Django gives its own connection) and return the
    thread; the connection is closed when the work ends, so the test database can be
    dropped."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread
