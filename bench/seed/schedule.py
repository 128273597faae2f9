"""Schedule the seed's burst: N calls of its @background no-op, one at a time, all due at
one moment, in the seed's own project (bench.seed.settings). Prints one JSON line: how
long the calls took.

    DJANGO_SETTINGS_MODULE=bench.seed.settings python -m bench.seed.schedule N DUE"""

import datetime as dt
import json
import sys
import time

import django


def main() -> None:
    n, due = int(sys.argv[1]), float(sys.argv[2])
    django.setup()
    from background_task.models import CompletedTask, Task

    from bench.seed.tasks import noop_seed

    Task.objects.all().delete()
    CompletedTask.objects.all().delete()
    when = dt.datetime.fromtimestamp(due, dt.UTC)
    started = time.perf_counter()
    for i in range(n):
        noop_seed(f"j{i}", due, schedule=when)
    elapsed = time.perf_counter() - started
    print(json.dumps({"n": n, "seconds": elapsed, "finished_before_due": time.time() < due}))


if __name__ == "__main__":
    main()
