"""make bench: future_celery beside raw Celery, on real Redis, PostgreSQL, celery worker and
celery beat processes of proj, with the same worker settings (prefork -c 2) and the same
no-op job body (bench/tasks.py), in one run; and for @background, one process_tasks of ours
beside one of the seed's, django-background-tasks (bench/seed/: its own settings, database and
@background no-op, the same body), over the same burst.

    .venv/bin/python bench/run.py [--quick]

Prints one line per scenario (ours, raw Celery, ratio) and writes bench/results/latest.json,
bench/results/latest.md and bench/results/latest.png."""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DB_NAME = "future_celery_bench"
# The seed (django-background-tasks) runs on a database of its own, with bench.seed.settings.
SEED_DB_NAME = "future_celery_bench_seed"
ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DATABASE_URL": os.environ.get(
        "BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
    ),
    "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14"),
    "BENCH_RESULTS_URL": "redis://127.0.0.1:6379/13",
    "CELERY_WORKER_SEND_TASK_EVENTS": "0",
    "CONN_MAX_AGE": "600",
    "DJANGO_DEBUG": "0",
    "PYTHONPATH": str(ROOT),
}
os.environ.update(ENV)
sys.path.insert(0, str(ROOT))
SEED_ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "bench.seed.settings",
    "DATABASE_URL": os.environ.get(
        "BENCH_SEED_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{SEED_DB_NAME}"
    ),
}


def create_database() -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
        for name in (DB_NAME, SEED_DB_NAME):
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    for env in (os.environ, SEED_ENV):
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True, env=env
        )


create_database()

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.background_tasks import noop_background  # noqa: E402
from bench.django_tasks import noop_task  # noqa: E402
from bench.tasks import RESULTS_KEY, raw  # noqa: E402
from future_celery import ScheduledJob, dispatch, schedule_job, schedule_jobs  # noqa: E402
from tests.processes import Process, celery_command, start_beat  # noqa: E402

results_redis = redis.Redis.from_url(ENV["BENCH_RESULTS_URL"])
broker_redis = redis.Redis.from_url(ENV["CELERY_BROKER_URL"])


def start_worker() -> Process:
    process = Process(
        "bench-worker",
        celery_command(
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "-I",
            "bench.tasks",
            "-n",
            f"bench-{time.monotonic_ns()}@%h",
            "--without-mingle",
            "--without-gossip",
        ),
        dict(os.environ),
    )
    deadline = time.monotonic() + 60
    while "ready" not in process.output and time.monotonic() < deadline:  # WARNING hides "ready."
        if wait_for_ping():
            break
        time.sleep(0.3)
    return process


def wait_for_ping() -> bool:
    from proj.celery import app

    return bool(app.control.ping(timeout=0.5))


def rss_mib(process: Process, children: bool = True) -> float:
    return process.rss_kib(children) / 1024


def pss_mib(process: Process) -> float:
    return process.pss_kib() / 1024


@contextlib.contextmanager
def engine(kind: str):
    """A worker, and for future_celery a beat too, for one scenario run."""
    worker = start_worker()
    beat = start_beat(dict(os.environ)) if kind == "ours" else None
    try:
        yield
    finally:
        if beat:
            beat.stop()
        worker.stop()


def reset() -> None:
    results_redis.delete(RESULTS_KEY)
    broker_redis.flushdb()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE future_celery_scheduledjob")


def collect(n: int, timeout: float) -> list[tuple[str, float, float]]:
    deadline = time.monotonic() + timeout
    while results_redis.llen(RESULTS_KEY) < n and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # duplicates, if any, arrive late
    rows = []
    for item in results_redis.lrange(RESULTS_KEY, 0, -1):
        label, due, start = item.decode().split()
        rows.append((label, float(due), float(start)))
    return rows


def lateness_stats(rows, n) -> dict:
    counts = collections.Counter(label for label, _, _ in rows)
    late = sorted((start - due) * 1000 for _, due, start in rows)
    pct = lambda p: late[min(len(late) - 1, int(p / 100 * len(late)))] if late else float("nan")  # noqa: E731
    return {
        "n": n,
        "executions": len(rows),
        "duplicates": sum(c - 1 for c in counts.values() if c > 1),
        "missing": n - len(counts),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": late[-1] if late else float("nan"),
        "lateness": late,
    }


# --- scenarios -------------------------------------------------------------------------------


def scheduling(n_single: int, n_bulk: int, repeats: int = 3) -> dict:
    """Each figure is the median of ``repeats`` runs: a run lasts seconds, and one pause of
    a shared machine would otherwise decide it. The samples are kept beside it."""
    runs = [_scheduling_once(n_single, n_bulk) for _ in range(repeats)]
    out = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    out["runs"] = runs
    return out


def _scheduling_once(n_single: int, n_bulk: int) -> dict:
    reset()
    later = timezone.now() + dt.timedelta(days=1)
    started = time.perf_counter()
    for i in range(n_single):
        schedule_job(later, "bench.tasks.noop", args=[f"s{i}", 0])
    single = n_single / (time.perf_counter() - started)
    # @background: each call of the decorated function schedules one job, as schedule_job
    # does, on an emptied table as schedule_job's loop had.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE future_celery_scheduledjob")
    started = time.perf_counter()
    for i in range(n_single):
        noop_background(f"g{i}", 0, schedule=later)
    background = n_single / (time.perf_counter() - started)
    # django.tasks: each enqueue() schedules one job through the backend.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE future_celery_scheduledjob")
    deferred = noop_task.using(run_after=later)
    started = time.perf_counter()
    for i in range(n_single):
        deferred.enqueue(f"t{i}", 0)
    enqueued = n_single / (time.perf_counter() - started)
    specs = [
        {"when": later, "callable": "bench.tasks.noop", "args": [f"b{i}", 0]} for i in range(n_bulk)
    ]
    started = time.perf_counter()
    schedule_jobs(specs, batch_size=5000)
    bulk = n_bulk / (time.perf_counter() - started)
    # Raw Celery: apply_async with an eta, one at a time (to a queue no worker reads).
    started = time.perf_counter()
    for i in range(n_single):
        raw.apply_async(args=[f"r{i}", 0], eta=later, queue="bench-void")
    raw_single = n_single / (time.perf_counter() - started)
    broker_redis.delete("bench-void")
    return {
        "single_jobs_per_s": single,
        "background_jobs_per_s": background,
        "task_enqueues_per_s": enqueued,
        "bulk_jobs_per_s": bulk,
        "raw_single_jobs_per_s": raw_single,
    }


def steady(n: int, spread: float) -> dict:
    out = {}
    for kind in ("ours", "raw"):
        reset()
        with engine(kind):
            start = time.time() + 4
            if kind == "ours":
                schedule_jobs(
                    [
                        {
                            "when": dt.datetime.fromtimestamp(start + spread * i / n, dt.UTC),
                            "callable": "bench.tasks.noop",
                            "args": [f"j{i}", start + spread * i / n],
                        }
                        for i in range(n)
                    ]
                )
            else:
                for i in range(n):
                    due = start + spread * i / n
                    raw.apply_async(args=[f"j{i}", due], eta=dt.datetime.fromtimestamp(due, dt.UTC))
            out[kind] = lateness_stats(collect(n, spread + 60), n)
    return out


def burst(n: int) -> dict:
    out = {}
    for kind in ("ours", "tasks", "raw"):
        reset()
        with engine("ours" if kind == "tasks" else kind):
            # The same lead time for all: raw Celery needs it to publish every message first.
            due = time.time() + 3 + n / 1500
            eta = dt.datetime.fromtimestamp(due, dt.UTC)
            if kind == "ours":
                schedule_jobs(
                    [
                        {"when": eta, "callable": "bench.tasks.noop", "args": [f"j{i}", due]}
                        for i in range(n)
                    ]
                )
            elif kind == "tasks":  # django.tasks: one enqueue() per job (it has no bulk call)
                deferred = noop_task.using(run_after=eta)
                for i in range(n):
                    deferred.enqueue(f"j{i}", due)
            else:
                for i in range(n):
                    raw.apply_async(args=[f"j{i}", due], eta=eta)
            rows = collect(n, 300)
        stats = lateness_stats(rows, n)
        last = max(start for _, _, start in rows)
        stats["jobs_per_s"] = len(rows) / max(last - due, 1e-6)
        stats["timeline"] = sorted(start - due for _, _, start in rows)
        out[kind] = stats
    return out


def process_tasks_burst(n: int, limit: float) -> dict:
    """django-background-tasks' own world: ``n`` calls of an @background no-op, all due at one
    moment, run by one ``manage.py process_tasks --sleep 0.1``: ours (future_celery's command,
    on the bench database) and the seed's (django-background-tasks' command, with all its
    settings at their defaults, on its own database). Each command is started first and
    scheduling ends before the jobs are due, as in burst(). A command still busy ``limit``
    seconds after the due time is stopped: its figures are over the jobs it started by then,
    and the rest are counted as missing (left)."""
    out = {}
    for kind in ("ours", "seed"):
        reset()
        # Both schedulers call at ~1,500 calls/s here; the lead leaves room for a slow machine.
        due = time.time() + 4 + n / 400
        process = start_process_tasks(kind)
        try:
            if kind == "ours":
                eta = dt.datetime.fromtimestamp(due, dt.UTC)
                # No Celery in this world: no message at commit (the jobs are in the
                # look-ahead), only rows for process_tasks.
                with override_settings(FUTURE_CELERY_DISPATCH_ON_COMMIT=False):
                    started = time.perf_counter()
                    for i in range(n):
                        noop_background(f"j{i}", due, schedule=eta)
                    scheduled = {"seconds": time.perf_counter() - started}
                scheduled["finished_before_due"] = time.time() < due
            else:
                done = subprocess.run(
                    [sys.executable, "-m", "bench.seed.schedule", str(n), repr(due)],
                    check=True,
                    env=SEED_ENV,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
                scheduled = json.loads(done.stdout.strip().splitlines()[-1])
            if not scheduled["finished_before_due"]:
                print(f"WARNING: {kind} burst: scheduling ended after the due time", flush=True)
            rows = collect(n, max(due + limit - time.time(), 1.0))
        finally:
            process.stop()
        stats = lateness_over(rows, n)
        last = max((start for _, _, start in rows), default=due)
        stats["jobs_per_s"] = len(rows) / max(last - due, 1e-6)
        stats["limit_s"] = limit
        stats["stopped_at_limit"] = stats["missing"] > 0
        stats["schedule_jobs_per_s"] = n / scheduled["seconds"]
        stats["scheduling_finished_before_due"] = scheduled["finished_before_due"]
        out[kind] = stats
    from importlib import metadata

    out["seed_version"] = metadata.version("django-background-tasks")
    return out


def start_process_tasks(kind: str) -> Process:
    """One ``manage.py process_tasks --sleep 0.1``, ready: ours once it has said so, the
    seed's (which says nothing) once it has connected to its database."""
    env = dict(os.environ) if kind == "ours" else SEED_ENV
    process = Process(
        f"bench-process-tasks-{kind}",
        [sys.executable, str(ROOT / "manage.py"), "process_tasks", "--sleep", "0.1"],
        env,
    )
    if kind == "ours":
        process.wait_for_output("process_tasks: running due jobs")
        return process
    database = SEED_ENV["DATABASE_URL"].rsplit("/", 1)[-1]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"the seed's process_tasks exited:\n{process.output[-3000:]}")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database])
            if cursor.fetchone()[0]:
                return process
        time.sleep(0.1)
    process.stop()
    raise TimeoutError(f"the seed's process_tasks did not connect:\n{process.output[-3000:]}")


def lateness_over(rows, n) -> dict:
    """lateness_stats, with the percentiles taken over all ``n`` jobs: a job that had not
    started when the command was stopped counts as later than any that did, and a percentile
    that falls among those is None (shown as "> the limit")."""
    stats = lateness_stats(rows, n)
    late = stats.pop("lateness")
    for p in (50, 95, 99):
        index = min(n - 1, int(p / 100 * n))
        stats[f"p{p}_ms"] = late[index] if index < len(late) else None
    if len(late) < n:
        stats["max_ms"] = None
    return stats


def insert_future_rows(count: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO future_celery_scheduledjob (callable_name, args, kwargs, time_slot_start,
                time_slot_end, status, error, return_value, object_id, attempts, lost, max_attempts,
                queue, task_id, worker, dispatches, created, updated)
            SELECT 'bench.tasks.noop', '["f", 0]', '{}', now() + interval '1 day' + g * interval '1 second',
                now() + interval '8 days' + g * interval '1 second', 'scheduled', '', '', '', 0, 0, 1,
                '', '', '', 0, now(), now()
            FROM generate_series(1, %s) AS g""",
            [count],
        )
        cursor.execute("ANALYZE future_celery_scheduledjob")


def tick_ms(runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        dispatch.tick()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def tick_with_recurring_jobs(count: int) -> float:
    """The tick with ``count`` recurring jobs, none due (next slots a day away), beside the
    future rows already there; the recurring jobs are removed afterwards."""
    from future_celery.models import RecurringJob

    far = timezone.now() + dt.timedelta(days=1)
    RecurringJob.objects.bulk_create(
        (
            RecurringJob(
                label=f"bench-{i}", callable_name="bench.tasks.noop", every="1 day", next_slot=far
            )
            for i in range(count)
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:  # as autovacuum would, and as for the future rows
        cursor.execute("ANALYZE future_celery_recurringjob")
    try:
        return tick_ms()
    finally:
        RecurringJob.objects.filter(label__startswith="bench-").delete()


def insert_spread_rows(count: int) -> None:
    """``count`` future rows on as many distinct days, 290 days apart (so nearly as many
    distinct years, up to year 9,971): what anyone who can choose job times could make."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO future_celery_scheduledjob (callable_name, args, kwargs, time_slot_start,
                status, error, return_value, object_id, attempts, lost, max_attempts,
                queue, task_id, worker, dispatches, created, updated)
            SELECT 'bench.tasks.spread', '[]', '{}', now() + g * interval '290 days',
                'scheduled', '', '', '', 0, 0, 1, '', '', '', 0, now(), now()
            FROM generate_series(1, %s) AS g""",
            [count],
        )
        cursor.execute("ANALYZE future_celery_scheduledjob")


def admin_ms(runs: int = 5) -> dict:
    from django.contrib.auth.models import User
    from django.test import Client

    user, _ = User.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    out = {}
    for name, url in [
        ("list", "/admin/future_celery/scheduledjob/"),
        ("filtered", "/admin/future_celery/scheduledjob/?status__exact=scheduled"),
        ("search", "/admin/future_celery/scheduledjob/?q=noop"),
    ]:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url, HTTP_HOST="127.0.0.1")
            assert response.status_code == 200, response.status_code
            times.append((time.perf_counter() - started) * 1000)
        out[name] = statistics.median(times)
    return out


def scale(sizes: list[int], raw_held: int) -> dict:
    reset()
    out = {"tick_ms": {}}
    present = 0
    for size in sizes:
        insert_future_rows(size - present)
        present = size
        out["tick_ms"][size] = tick_ms()
    out["tick_ms_recurring"] = tick_with_recurring_jobs(10_000)
    worker, beat = start_worker(), start_beat(dict(os.environ))
    time.sleep(12)
    out["worker_rss_mib"], out["beat_rss_mib"] = rss_mib(worker), rss_mib(beat)
    out["worker_main_rss_mib"], out["worker_pss_mib"] = rss_mib(worker, False), pss_mib(worker)
    beat.stop()
    worker.stop()
    out["admin_ms"] = admin_ms()
    # The job list when the scheduled times spread over 10,000 distinct days (and some 7,900
    # years): the date hierarchy stops its index seeks and asks one aggregate instead.
    insert_spread_rows(10_000)
    out["admin_spread_ms"] = admin_ms()["list"]
    ScheduledJob.objects.filter(callable_name="bench.tasks.spread").delete()
    # Raw Celery: a worker holding raw_held eta messages (an hour away).
    broker_redis.flushdb()
    worker = start_worker()
    later = timezone.now() + dt.timedelta(hours=1)
    for i in range(raw_held):
        raw.apply_async(args=[f"h{i}", 0], eta=later)
    deadline = time.monotonic() + 120
    while broker_redis.llen("celery") and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)
    out["raw_worker_rss_mib"] = rss_mib(worker)
    out["raw_worker_main_rss_mib"], out["raw_worker_pss_mib"] = (
        rss_mib(worker, False),
        pss_mib(worker),
    )
    out["raw_held"] = raw_held
    worker.stop()
    broker_redis.flushdb()
    return out


# --- report ----------------------------------------------------------------------------------


def ratio(ours: float, raw_value: float) -> str:
    return f"{ours / raw_value:.2f}x" if raw_value else "-"


def lines(result: dict) -> list[str]:
    s, st, b, sc = result["scheduling"], result["steady"], result["burst"], result["scale"]
    sizes = sorted(sc["tick_ms"], key=int)
    out = [
        f"scheduling one at a time (median of {len(s['runs'])} runs): {s['single_jobs_per_s']:,.0f} "
        f"jobs/s | raw apply_async(eta) "
        f"{s['raw_single_jobs_per_s']:,.0f} jobs/s | {ratio(s['single_jobs_per_s'], s['raw_single_jobs_per_s'])}",
        f"@background one at a time (median of {len(s['runs'])} runs): "
        f"{s['background_jobs_per_s']:,.0f} jobs/s | raw apply_async(eta) "
        f"{s['raw_single_jobs_per_s']:,.0f} jobs/s | "
        f"{ratio(s['background_jobs_per_s'], s['raw_single_jobs_per_s'])}",
        f"django.tasks enqueue() one at a time (median of {len(s['runs'])} runs): "
        f"{s['task_enqueues_per_s']:,.0f} jobs/s | raw apply_async(eta) "
        f"{s['raw_single_jobs_per_s']:,.0f} jobs/s | "
        f"{ratio(s['task_enqueues_per_s'], s['raw_single_jobs_per_s'])}",
        f"scheduling bulk (schedule_jobs, median of {len(s['runs'])} runs): "
        f"{s['bulk_jobs_per_s']:,.0f} jobs/s | raw - | -",
    ]
    for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
        out.append(
            f"steady {st['ours']['n']} jobs lateness {key[:-3]}: {st['ours'][key]:.1f} ms | "
            f"raw {st['raw'][key]:.1f} ms | {ratio(st['ours'][key], st['raw'][key])}"
        )
    out.append(
        f"steady duplicates/missing: {st['ours']['duplicates']}/{st['ours']['missing']} | "
        f"raw {st['raw']['duplicates']}/{st['raw']['missing']}"
    )
    out.append(
        f"burst {b['ours']['n']} jobs throughput: {b['ours']['jobs_per_s']:,.0f} jobs/s | raw "
        f"{b['raw']['jobs_per_s']:,.0f} jobs/s | {ratio(b['ours']['jobs_per_s'], b['raw']['jobs_per_s'])}"
    )
    for key in ("p50_ms", "p99_ms"):
        out.append(
            f"burst lateness {key[:-3]}: {b['ours'][key]:,.0f} ms | raw {b['raw'][key]:,.0f} ms | "
            f"{ratio(b['ours'][key], b['raw'][key])}"
        )
    out.append(
        f"burst duplicates/missing: {b['ours']['duplicates']}/{b['ours']['missing']} | "
        f"raw {b['raw']['duplicates']}/{b['raw']['missing']}"
    )
    if "tasks" in b:
        t = b["tasks"]
        out.append(
            f"burst {t['n']} django.tasks jobs (enqueue() each) throughput: "
            f"{t['jobs_per_s']:,.0f} jobs/s, lateness p50 {t['p50_ms']:,.0f} ms, p99 "
            f"{t['p99_ms']:,.0f} ms, duplicates/missing {t['duplicates']}/{t['missing']} | raw "
            f"{b['raw']['jobs_per_s']:,.0f} jobs/s | {ratio(t['jobs_per_s'], b['raw']['jobs_per_s'])}"
        )
    out += process_tasks_lines(result["process_tasks"])
    base = sc["tick_ms"][sizes[0]]
    for size in sizes:
        out.append(
            f"tick with {int(size):,} future jobs: {sc['tick_ms'][size]:.2f} ms | raw - | "
            f"{ratio(sc['tick_ms'][size], base)} of the empty tick"
        )
    if "tick_ms_recurring" in sc:
        out.append(
            f"tick with {int(sizes[-1]):,} future jobs and 10,000 recurring jobs, none due: "
            f"{sc['tick_ms_recurring']:.2f} ms | raw - | "
            f"{ratio(sc['tick_ms_recurring'], base)} of the empty tick"
        )
    held = f"raw worker holding {sc['raw_held']:,} eta messages"
    for key, what in [
        ("worker_main_rss_mib", "worker RSS, main process (it holds the messages)"),
        ("worker_pss_mib", "worker PSS, main + 2 pool processes (shared pages counted once)"),
        ("worker_rss_mib", "worker RSS, main + 2 pool processes summed (shared pages once each)"),
    ]:
        out.append(
            f"{what} with {int(sizes[-1]):,} future jobs: {sc[key]:.0f} MiB | {held} "
            f"{sc['raw_' + key]:.0f} MiB | {ratio(sc[key], sc['raw_' + key])}"
        )
    out.append(
        f"beat RSS with {int(sizes[-1]):,} future jobs: {sc['beat_rss_mib']:.0f} MiB | raw - | -"
    )
    for name, value in sc["admin_ms"].items():
        out.append(
            f"admin changelist ({name}) at {int(sizes[-1]):,} rows: {value:.0f} ms | raw - | -"
        )
    if "admin_spread_ms" in sc:
        out.append(
            f"admin changelist (list) at {int(sizes[-1]):,} rows + 10,000 on distinct days "
            f"(~7,900 years): {sc['admin_spread_ms']:.0f} ms | raw - | "
            f"{ratio(sc['admin_spread_ms'], sc['admin_ms']['list'])} of the list"
        )
    return out


def process_tasks_lines(pt: dict) -> list[str]:
    ours, seed = pt["ours"], pt["seed"]
    label = f"burst {ours['n']} @background jobs, one process_tasks --sleep 0.1"
    seed_name = (
        f"django-background-tasks {pt['seed_version']} process_tasks (its defaults: "
        "one process, BACKGROUND_TASK_RUN_ASYNC off)"
    )
    limit_ms = seed["limit_s"] * 1000

    def ms(value) -> str:
        return f"{value:,.0f} ms" if value is not None else f"> {limit_ms:,.0f} ms"

    def ms_ratio(value, other) -> str:
        if value is None:
            return "-"
        return ratio(value, other) if other is not None else f"< {value / limit_ms:.2f}x"

    out = [
        f"{label} throughput: ours {ours['jobs_per_s']:,.1f} jobs/s | {seed_name} "
        f"{seed['jobs_per_s']:,.1f} jobs/s"
        + (
            f" (over the {seed['n'] - seed['missing']:,} it started in {seed['limit_s']:g} s)"
            if seed["stopped_at_limit"]
            else ""
        )
        + f" | {ratio(ours['jobs_per_s'], seed['jobs_per_s'])}"
    ]
    for key in ("p50_ms", "p99_ms"):
        out.append(
            f"{label} lateness {key[:-3]}: ours {ms(ours[key])} | django-background-tasks "
            f"{ms(seed[key])} | {ms_ratio(ours[key], seed[key])}"
        )
    out.append(
        f"{label} duplicates/missing: ours {ours['duplicates']}/{ours['missing']} | "
        f"django-background-tasks {seed['duplicates']}/{seed['missing']}"
        + (
            f" ({seed['missing']:,} not started when stopped, {seed['limit_s']:g} s after "
            "the due time)"
            if seed["stopped_at_limit"]
            else ""
        )
    )
    return out


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for kind, colour in (("ours", "tab:blue"), ("raw", "tab:orange")):
        late = result["steady_lateness"][kind]
        left.hist(
            late,
            bins=60,
            alpha=0.6,
            color=colour,
            label=f"{'future_celery' if kind == 'ours' else 'raw Celery'}",
        )
        timeline = result["burst"][kind]["timeline"]
        if timeline:
            width = 0.5
            bins = [i * width for i in range(int(max(timeline) / width) + 2)]
            counts, edges = [0] * (len(bins) - 1), bins
            for t in timeline:
                counts[min(int(max(t, 0) / width), len(counts) - 1)] += 1
            right.plot(
                edges[:-1],
                [c / width for c in counts],
                color=colour,
                label=f"{'future_celery' if kind == 'ours' else 'raw Celery'}",
            )
    left.set(
        title="Steady load: lateness (ms)", xlabel="start - scheduled time (ms)", ylabel="jobs"
    )
    right.set(title="Burst: jobs started per second", xlabel="seconds after due", ylabel="jobs/s")
    left.legend()
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small N: a run of under two minutes")
    parser.add_argument(
        "--seed-limit",
        type=float,
        default=120.0,
        help="seconds after the due time at which a process_tasks still running its burst "
        "is stopped (django-background-tasks runs about 15 jobs/s). Default 120.",
    )
    options = parser.parse_args()
    quick = options.quick
    result = {"quick": quick, "when": timezone.now().isoformat(), "machine": os.uname().nodename}
    result["scheduling"] = scheduling(*((1000, 10_000) if quick else (5000, 100_000)))
    print(f"scheduling done {result['scheduling']}", flush=True)
    result["steady"] = steady(*((1000, 10.0) if quick else (5000, 30.0)))
    print("steady done", flush=True)
    result["burst"] = burst(3000 if quick else 20_000)
    print("burst done", flush=True)
    result["process_tasks"] = process_tasks_burst(500 if quick else 5000, options.seed_limit)
    print("process_tasks burst done", flush=True)
    result["scale"] = scale(
        [0, 10_000, 100_000] if quick else [0, 100_000, 1_000_000], 5000 if quick else 20_000
    )
    result["steady_lateness"] = {
        kind: result["steady"][kind].pop("lateness") for kind in ("ours", "raw")
    }
    for kind in ("ours", "raw"):
        result["burst"][kind].pop("lateness")
    report = lines(result)
    print("\n".join(report))
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "quick" if quick else "latest"
    timelines = {kind: result["burst"][kind].pop("timeline") for kind in ("ours", "raw")}
    lateness = result.pop("steady_lateness")
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
    (RESULTS / f"{name}.md").write_text(
        f"# future_celery benchmark ({'quick' if quick else 'full'}, {result['when']})\n\n"
        "| scenario: ours \\| raw Celery \\| ratio |\n| --- |\n"
        + "\n".join(f"| {line} |" for line in report)
        + "\n"
    )
    result["burst"]["ours"]["timeline"], result["burst"]["raw"]["timeline"] = (
        timelines["ours"],
        timelines["raw"],
    )
    result["steady_lateness"] = lateness
    plot(result, RESULTS / f"{name}.png")


if __name__ == "__main__":
    main()
