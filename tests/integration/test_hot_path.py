"""The worker's per-job statements: the claim, the job's transaction and the completion.

These run outside any test transaction (transactional_db), as on a worker, where a job that
sends no query completes in one autocommit statement and the claim skips its WAL flush."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from future_celery import ScheduledJob, execution, lifecycle, schedule_job
from future_celery.exceptions import InvalidJobState
from future_celery.pg_direct import execute_hot
from proj.demo.models import Note

pytestmark = pytest.mark.django_db(transaction=True)

SEEN: dict[str, str] = {}


def no_query():
    return "done"


def status_after_commit(job_id):
    """Send no query; on commit, read this job's status (is the completion committed?)."""
    transaction.on_commit(
        lambda: SEEN.__setitem__("status", ScheduledJob.objects.get(pk=job_id).status)
    )


def queued(callable_name="tests.integration.test_hot_path.no_query", args=(), task_id="t-1"):
    job = schedule_job("1h", callable_name, args=args)
    ScheduledJob.objects.filter(pk=job.pk).update(status="queued", task_id=task_id)
    return job


def claimed(job, task_id="t-1"):
    claimed_job = lifecycle.start_delivered(job.pk, task_id, "w@host", 4242)
    assert claimed_job is not None
    return claimed_job


def test_a_job_that_sends_no_query_completes():
    job = claimed(queued())
    execution.execute(job)
    job.refresh_from_db()
    assert (job.status, job.return_value, job.attempts) == ("complete", "done", 1)


def test_a_job_without_queries_that_was_taken_away_is_not_completed():
    job = claimed(queued())
    ScheduledJob.objects.filter(pk=job.pk).update(status="scheduled")  # declared lost meanwhile
    with pytest.raises(InvalidJobState, match="no longer running"):
        execution.execute(job)
    job.refresh_from_db()
    assert job.status == "scheduled"


def test_a_job_that_writes_and_was_taken_away_rolls_its_writes_back():
    job = claimed(queued("proj.demo.jobs.create_note", args=["kept?"]))
    ScheduledJob.objects.filter(pk=job.pk).update(status="scheduled")
    with pytest.raises(InvalidJobState):
        execution.execute(job)
    assert not Note.objects.filter(title="kept?").exists()


def test_a_job_that_writes_commits_its_writes_with_its_completion():
    job = claimed(queued("proj.demo.jobs.create_note", args=["kept"]))
    execution.execute(job)
    job.refresh_from_db()
    assert job.status == "complete" and Note.objects.filter(title="kept").exists()


def test_on_commit_callbacks_of_a_job_without_queries_see_it_complete():
    SEEN.clear()
    job = queued("tests.integration.test_hot_path.status_after_commit")
    job = claimed(job)
    job.args = [job.pk]
    execution.execute(job)
    assert SEEN == {"status": "complete"}


def test_claims_past_the_prepare_threshold_and_after_a_reconnect():
    jobs = [queued(task_id=f"t-{i}") for i in range(8)]
    for i, job in enumerate(jobs[:6]):  # psycopg prepares the statement after 5 runs
        assert claimed(job, f"t-{i}").status == "running"
    assert lifecycle.start_delivered(jobs[0].pk, "t-0", "w@host", 1) is None  # already claimed
    assert lifecycle.start_delivered(jobs[6].pk, "another message", "w@host", 1) is None
    connection.close()
    assert claimed(jobs[6], "t-6").attempts == 1
    last = claimed(jobs[7], "t-7")
    assert (last.worker, last.worker_pid) == ("w@host", 4242)
    last.refresh_from_db()
    assert (last.worker, last.worker_pid) == ("w@host", 4242)


def _scalar(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def synchronous_commit():
    return _scalar("SHOW synchronous_commit")


@pytest.mark.postgresql
def test_the_claim_and_completion_skip_the_wal_flush_for_their_own_transaction_only():
    job = claimed(queued())
    execution.execute(job)
    assert synchronous_commit() == "on"  # the session's setting is untouched
    job = claimed(queued(task_id="t-2"), "t-2")
    with transaction.atomic():  # inside a transaction, see what the statement sets
        done, _ = execute_hot(
            lifecycle._complete_sql("postgresql", unflushed=True),
            ["complete", timezone.now(), "", timezone.now(), job.pk, "running", job.attempts],
        )
        assert done == 1 and synchronous_commit() == "off"
    assert synchronous_commit() == "on"


@pytest.mark.postgresql
def test_the_synchronous_commit_setting_makes_them_wait_for_the_flush(settings):
    assert lifecycle._unflushed()
    settings.FUTURE_CELERY_SYNCHRONOUS_COMMIT = True
    assert not lifecycle._unflushed()
    assert "set_config" not in lifecycle._complete_sql("postgresql", lifecycle._unflushed())
    job = claimed(queued())  # and they still work
    execution.execute(job)
    job.refresh_from_db()
    assert job.status == "complete"


@pytest.mark.postgresql
def test_a_job_that_writes_completes_in_its_own_transaction_with_the_flush():
    assert lifecycle._unflushed()
    with transaction.atomic():
        assert not lifecycle._unflushed()  # its writes are the user's: they are flushed


def test_errors_of_the_hot_path_are_djangos():
    with pytest.raises(DatabaseError, match="no_such_column"):  # Django's, not the driver's
        execute_hot("SELECT no_such_column FROM future_celery_scheduledjob", [])
    assert execute_hot("SELECT 1", [], returning=True)[1] == (1,)


def _prepared_here():
    return _scalar("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'future_celery_%%'")


@pytest.mark.postgresql
def test_the_direct_path_prepares_once_and_again_after_the_server_forgot():
    assert execute_hot("SELECT %s::int + %s::int, '100%%'", [2, 3], returning=True)[1] == (
        5,
        "100%",
    )
    count = _prepared_here()
    assert count >= 1
    assert execute_hot("SELECT %s::int + %s::int, '100%%'", [4, 5], returning=True)[1] == (
        9,
        "100%",
    )
    assert _prepared_here() == count  # the same statement, not prepared again
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # as a pooler's DISCARD ALL would
    assert execute_hot("SELECT %s::int + %s::int, '100%%'", [1, 1], returning=True)[1] == (
        2,
        "100%",
    )


@pytest.mark.postgresql
def test_the_direct_path_sends_statements_unprepared_without_a_prepare_threshold():
    connection.close()  # a new connection, with no statement of ours on it yet
    connection.ensure_connection()
    assert connection.connection.prepare_threshold is not None  # the settings prepare
    connection.connection.prepare_threshold = None
    try:
        assert execute_hot("SELECT %s::text || 'x'", ["a"], returning=True)[1] == ("ax",)
        assert _prepared_here() == 0
    finally:
        connection.close()  # the next connection takes the settings' threshold again


@pytest.mark.postgresql
def test_the_direct_path_reads_rows_as_the_orm_does():
    job = claimed(queued(args=[1, "ü", {"k": None}]))
    orm = ScheduledJob.objects.get(pk=job.pk)
    for field in ScheduledJob._meta.concrete_fields:
        assert getattr(job, field.attname) == getattr(orm, field.attname), field.attname
    assert job.args == [1, "ü", {"k": None}] and job.execution_start.utcoffset() is not None


@pytest.mark.postgresql
def test_bad_values_and_a_lost_connection_on_the_direct_path_raise_djangos_errors():
    from django.db import DataError, OperationalError, connections

    with pytest.raises(DataError, match="NUL"):
        execute_hot("SELECT %s::text", ["a\x00b"], returning=True)
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    with pytest.raises(OperationalError):  # what reconnecting() retries on
        execute_hot("SELECT 1", [], returning=True)
    connection.close()
    assert execute_hot("SELECT 1", [], returning=True)[1] == (1,)
