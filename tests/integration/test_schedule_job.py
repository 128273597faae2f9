import datetime as dt
import zoneinfo

import pytest
from django.test import override_settings
from django.utils import timezone

from future_celery import ScheduledJob, schedule_job, schedule_jobs
from future_celery.exceptions import (
    ArgumentNotSerializable,
    CallableNotAllowed,
    CallableNotFound,
    InvalidExpiry,
    InvalidTimeSpec,
)
from proj.demo import jobs
from proj.demo.models import Note

pytestmark = pytest.mark.django_db


def test_schedule_job_saves_and_returns_the_job():
    job = schedule_job("5d", "proj.demo.jobs.say_hello", args=["Ada"], kwargs={})
    stored = ScheduledJob.objects.get(pk=job.pk)
    assert stored.callable_name == "proj.demo.jobs.say_hello"
    assert stored.status == ScheduledJob.STATUS_SCHEDULED == "scheduled"
    assert stored.args == ["Ada"] and stored.kwargs == {}
    assert stored.attempts == 0 and stored.max_attempts == 1
    assert abs(stored.time_slot_start - (timezone.now() + dt.timedelta(days=5))) < dt.timedelta(
        seconds=5
    )


def test_repr_shows_status_and_callable():
    job = schedule_job("1h", "proj.demo.jobs.say_hello")
    assert repr(job) == "<ScheduledJob (scheduled) callable='proj.demo.jobs.say_hello'>"


def test_status_constants_keep_django_futures_values():
    assert (
        ScheduledJob.STATUS_SCHEDULED,
        ScheduledJob.STATUS_RUNNING,
        ScheduledJob.STATUS_FAILED,
        ScheduledJob.STATUS_COMPLETE,
        ScheduledJob.STATUS_EXPIRED,
    ) == ("scheduled", "running", "failed", "complete", "expired")


def test_a_function_is_stored_as_its_dotted_path():
    assert schedule_job("1h", jobs.add, args=[1, 2]).callable_name == "proj.demo.jobs.add"


def test_times_are_stored_in_utc_and_naive_ones_read_in_the_current_zone():
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        job = schedule_job(dt.datetime(2030, 1, 15, 9, 0), "proj.demo.jobs.say_hello")
    job.refresh_from_db()
    assert job.time_slot_start == dt.datetime(2030, 1, 15, 14, 0, tzinfo=dt.UTC)


def test_the_default_expiry_is_a_week_after_the_scheduled_time():
    job = schedule_job(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), "proj.demo.jobs.say_hello")
    assert job.time_slot_end == dt.datetime(2030, 1, 8, tzinfo=dt.UTC)


def test_a_relative_expiry_counts_from_the_scheduled_time():
    job = schedule_job("5d", "proj.demo.jobs.say_hello", expires="1d12h")
    assert job.time_slot_end - job.time_slot_start == dt.timedelta(days=1, hours=12)


def test_expires_none_never_expires():
    assert schedule_job("5d", "proj.demo.jobs.say_hello", expires=None).time_slot_end is None


@override_settings(FUTURE_CELERY_DEFAULT_EXPIRES="2h")
def test_the_default_expiry_comes_from_settings():
    job = schedule_job("5d", "proj.demo.jobs.say_hello")
    assert job.time_slot_end - job.time_slot_start == dt.timedelta(hours=2)


def test_queue_priority_attempts_and_limits_are_stored():
    job = schedule_job(
        "1h",
        "proj.demo.jobs.say_hello",
        queue="mail",
        priority=7,
        max_attempts=3,
        soft_time_limit=5,
        time_limit=10,
    )
    job.refresh_from_db()
    assert (job.queue, job.priority, job.max_attempts, job.soft_time_limit, job.time_limit) == (
        "mail",
        7,
        3,
        5.0,
        10.0,
    )


def test_a_method_name_with_a_content_object():
    note = Note.objects.create(title="n")
    job = schedule_job("1h", "remind", content_object=note)
    job.refresh_from_db()
    assert job.callable_name == "remind"
    assert job.content_object == note and job.object_id == str(note.pk)


BAD_INPUTS = [
    (dict(when="5x"), InvalidTimeSpec, "'5x'"),
    (dict(when=""), InvalidTimeSpec, "''"),
    (dict(when="-3d"), InvalidTimeSpec, "'-3d'"),
    (dict(when="1.5h"), InvalidTimeSpec, "'1.5h'"),
    (dict(when="99999999999999w"), InvalidTimeSpec, "too"),
    (dict(expires="0s"), InvalidExpiry, "at or before its scheduled time"),
    (dict(expires=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)), InvalidExpiry, "at or before"),
    (dict(expires="soon"), InvalidTimeSpec, "'soon'"),
    (dict(callable="proj.demo.jobs.does_not_exist"), CallableNotFound, "has no 'does_not_exist'"),
    (dict(callable="no_such_module.x"), CallableNotFound, "no module 'no_such_module'"),
    (dict(callable="proj.settings.SECRET_KEY"), CallableNotFound, "is not callable"),
    (dict(callable="remind"), CallableNotFound, "needs a content_object"),
    (dict(callable=lambda: None), CallableNotFound, "dotted path"),
    (dict(callable=42), TypeError, "dotted path or a function"),
    (dict(args=[object()]), ArgumentNotSerializable, "args[0]"),
    (dict(kwargs={"x": {1, 2}}), ArgumentNotSerializable, "kwargs['x']"),
    (dict(args="abc"), ArgumentNotSerializable, "args must be a list"),
    (dict(args=[Note(title="unsaved")]), ArgumentNotSerializable, "not saved"),
    (dict(content_object=Note(title="unsaved")), ValueError, "must be saved"),
    (dict(content_object="not a model"), TypeError, "model instance"),
    (dict(priority=256), ValueError, "priority"),
    (dict(priority="high"), ValueError, "priority"),
    (dict(max_attempts=0), ValueError, "max_attempts"),
    (dict(time_limit=-1), ValueError, "time_limit"),
    (dict(queue=5), TypeError, "queue"),
]


@pytest.mark.parametrize(("overrides", "error", "message"), BAD_INPUTS, ids=lambda v: repr(v)[:40])
def test_bad_input_raises_a_clear_error_and_saves_nothing(overrides, error, message):
    call = {"when": "1h", "callable": "proj.demo.jobs.say_hello", **overrides}
    with pytest.raises(error) as info:
        schedule_job(call.pop("when"), call.pop("callable"), **call)
    assert message in str(info.value)
    assert not ScheduledJob.objects.exists()


def test_a_method_the_content_object_lacks_is_refused():
    note = Note.objects.create(title="n")
    with pytest.raises(CallableNotFound, match="has no method 'explode'"):
        schedule_job("1h", "explode", content_object=note)
    assert not ScheduledJob.objects.exists()


@override_settings(FUTURE_CELERY_ALLOWED_CALLABLES=["proj.demo.jobs.say_*", "demo.note.remind"])
def test_the_allow_list_is_checked_at_schedule_time():
    schedule_job("1h", "proj.demo.jobs.say_hello")
    schedule_job("1h", "remind", content_object=Note.objects.create(title="n"))
    with pytest.raises(CallableNotAllowed, match=r"proj\.demo\.jobs\.boom"):
        schedule_job("1h", "proj.demo.jobs.boom")
    assert ScheduledJob.objects.count() == 2


def test_schedule_jobs_inserts_many_at_once():
    created = schedule_jobs(
        [
            {"when": f"{i}m", "callable": "proj.demo.jobs.add", "args": [i, i]}
            for i in range(1, 251)
        ],
        batch_size=100,
    )
    assert len(created) == 250 == ScheduledJob.objects.count()
    assert sorted(job.args[0] for job in ScheduledJob.objects.all()) == list(range(1, 251))


def test_schedule_jobs_stores_every_field_as_schedule_job_does():
    note = Note.objects.create(title="n")
    spec = {
        "when": dt.datetime(2031, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC),
        "callable": "proj.demo.jobs.echo",
        "expires": "2d12h",
        "args": [
            1,
            -(2**40),
            2.5,
            "tab\there\nline \\ é",
            None,
            True,
            [1, {"a": []}],
            dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
            dt.date(2020, 2, 3),
        ],
        "kwargs": {"k": {"nested": "ünï"}},
        "queue": "q1",
        "priority": 9,
        "max_attempts": 3,
        "soft_time_limit": 1.5,
        "time_limit": 2,
    }
    single = schedule_job(spec.pop("when"), spec.pop("callable"), **spec)
    spec.update(when=single.time_slot_start, callable="proj.demo.jobs.echo")
    bulk = schedule_jobs(
        [spec, {"when": "1h", "callable": "proj.demo.jobs.note_title", "content_object": note}]
    )
    fields = [
        f.attname
        for f in ScheduledJob._meta.concrete_fields
        if f.attname not in ("id", "created", "updated")
    ]
    stored = {job.pk: job for job in ScheduledJob.objects.all()}
    assert [getattr(stored[bulk[0].pk], f) for f in fields] == [
        getattr(stored[single.pk], f) for f in fields
    ]
    assert stored[bulk[0].pk].args == bulk[0].args and stored[bulk[1].pk].content_object == note
    assert None not in (stored[bulk[0].pk].created, stored[bulk[1].pk].updated)


def test_schedule_jobs_makes_model_instances_that_work_and_init_signals_when_listened_to():
    from django.db.models.signals import post_init

    quick = schedule_jobs([{"when": "1h", "callable": "proj.demo.jobs.add", "args": [1, 2]}])[0]
    quick.cancel()  # made without __init__ (nothing listens): a full instance all the same
    quick.queue = "changed"
    quick.save()
    assert ScheduledJob.objects.get(pk=quick.pk).queue == "changed"
    assert quick.status == "cancelled" and quick._state.db == "default"
    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(instance.callable_name)

    post_init.connect(listener, sender=ScheduledJob)
    try:
        schedule_jobs([{"when": "1h", "callable": "proj.demo.jobs.say_hello"}])
    finally:
        post_init.disconnect(listener, sender=ScheduledJob)
    assert seen == ["proj.demo.jobs.say_hello"]


def test_schedule_jobs_saves_nothing_when_one_is_bad():
    specs = [
        {"when": "1m", "callable": "proj.demo.jobs.add", "args": [1, 2]},
        {"when": "1m", "callable": "proj.demo.jobs.nope"},
    ]
    with pytest.raises(CallableNotFound, match=r"jobs\[1\]"):
        schedule_jobs(specs)
    with pytest.raises(TypeError, match=r"jobs\[0\] has no 'callable'"):
        schedule_jobs([{"when": "1m"}])
    assert not ScheduledJob.objects.exists()


def test_schedule_job_sends_the_model_signals_and_stamps_the_dates():
    from django.db.models.signals import post_save, pre_save

    seen = []

    def before(sender, instance, raw, using, update_fields, **kwargs):
        seen.append(("pre", instance.pk, instance._state.adding, using))

    def after(sender, instance, created, raw, using, update_fields, **kwargs):
        seen.append(("post", instance.pk, created, instance._state.adding))

    pre_save.connect(before, sender=ScheduledJob)
    post_save.connect(after, sender=ScheduledJob)
    try:
        job = schedule_job("1h", "proj.demo.jobs.say_hello")
    finally:
        pre_save.disconnect(before, sender=ScheduledJob)
        post_save.disconnect(after, sender=ScheduledJob)
    assert seen == [("pre", None, True, "default"), ("post", job.pk, True, False)]
    stored = ScheduledJob.objects.get(pk=job.pk)
    assert stored.created == job.created and stored.updated == job.updated
    assert abs(stored.created - timezone.now()) < dt.timedelta(seconds=5)


@pytest.mark.postgresql  # the insert fails in PostgreSQL itself, as below
def test_a_failed_insert_inside_a_transaction_marks_it_for_rollback():
    from django.db import DatabaseError, connection, transaction
    from django.db.transaction import TransactionManagementError

    with transaction.atomic():
        # Every option is checked before the insert now; a trigger stands for what only the
        # database can refuse (a constraint added by the project, a full disk).
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE FUNCTION fc_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused by a trigger'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER fc_refuse BEFORE INSERT ON future_celery_scheduledjob "
                "FOR EACH ROW EXECUTE FUNCTION fc_refuse()"
            )
        with pytest.raises(DatabaseError, match="refused by a trigger"):
            schedule_job("1h", "proj.demo.jobs.say_hello")
        assert connection.needs_rollback
        with pytest.raises(TransactionManagementError):
            ScheduledJob.objects.count()


def test_a_callable_default_is_made_anew_for_each_job():
    from future_celery.scheduling import _new_job

    first, second = _new_job(False, callable_name="a.b"), _new_job(False, callable_name="a.b")
    assert first.kwargs == second.kwargs == {} and first.kwargs is not second.kwargs
    assert first.status == "scheduled" and first.attempts == 0


def test_schedule_job_stores_every_field_as_the_orm_save_does():
    from future_celery.scheduling import prepare_job

    note = Note.objects.create(title="n")
    options = {
        "args": [1, 2.5, "tab\there\nline \\ é", None, [1, {"a": []}], dt.date(2020, 2, 3)],
        "kwargs": {"k": {"nested": "ünï"}},
        "expires": "2d12h",
        "queue": "q1",
        "priority": 9,
        "max_attempts": 3,
        "soft_time_limit": 1.5,
        "time_limit": 2,
        "content_object": note,
    }
    when = dt.datetime(2031, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC)
    ours = schedule_job(when, "proj.demo.jobs.note_title", **options)
    orm = prepare_job(when, "proj.demo.jobs.note_title", **options)
    orm.save()
    fields = [
        f.attname
        for f in ScheduledJob._meta.concrete_fields
        if f.attname not in ("id", "created", "updated")
    ]
    stored = {job.pk: job for job in ScheduledJob.objects.all()}
    assert [getattr(stored[ours.pk], f) for f in fields] == [
        getattr(stored[orm.pk], f) for f in fields
    ]
    assert stored[ours.pk].content_object == note and stored[ours.pk].created == ours.created


def test_schedule_jobs_stores_empty_arguments():
    job = schedule_jobs([{"when": "1h", "callable": "proj.demo.jobs.say_hello"}])[0]
    stored = ScheduledJob.objects.get(pk=job.pk)
    assert stored.args == [] and stored.kwargs == {}


def test_schedule_job_goes_through_the_connections_execute_wrappers_and_query_log():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as logged, connection.execute_wrapper(wrapper):
        schedule_job("1h", "proj.demo.jobs.say_hello")
    table = connection.ops.quote_name("future_celery_scheduledjob")
    assert [sql.split()[:3] for sql in seen] == [["INSERT", "INTO", table]]
    assert "INSERT INTO" in logged.captured_queries[-1]["sql"]


@pytest.mark.postgresql
def test_schedule_job_insert_is_prepared_on_the_server_after_the_threshold():
    from django.db import connection

    for _ in range(8):  # the example project's prepare_threshold is 5
        schedule_job("1h", "proj.demo.jobs.say_hello")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements "
            "WHERE statement LIKE 'INSERT INTO \"future_celery_scheduledjob\"%%'"
        )
        assert cursor.fetchone()[0] >= 1


def test_a_bad_job_in_a_later_batch_rolls_back_the_batches_written_before_it():
    from django.db import transaction

    specs = [
        {"when": f"{i}m", "callable": "proj.demo.jobs.add", "args": [i, i]} for i in range(1, 6)
    ]
    specs.append({"when": "1m", "callable": "proj.demo.jobs.add", "args": [object()]})
    with transaction.atomic():
        ScheduledJob.objects.create(
            callable_name="proj.demo.jobs.add", time_slot_start=timezone.now()
        )
        with pytest.raises(ArgumentNotSerializable, match=r"jobs\[5\]: args\[0\]"):
            schedule_jobs(specs, batch_size=2)
        assert ScheduledJob.objects.count() == 1  # the caller's transaction goes on
    assert ScheduledJob.objects.count() == 1


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "10", True])
def test_schedule_jobs_refuses_a_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a whole number"):
        schedule_jobs(
            [{"when": "1h", "callable": "proj.demo.jobs.say_hello"}], batch_size=batch_size
        )
    assert not ScheduledJob.objects.exists()


def test_schedule_jobs_takes_any_iterable_of_specs():
    made = schedule_jobs(
        ({"when": "1h", "callable": "proj.demo.jobs.add", "args": [i, 1]} for i in range(7)),
        batch_size=3,
    )
    assert [job.args for job in made] == [[i, 1] for i in range(7)]
    assert ScheduledJob.objects.count() == 7 and len({job.pk for job in made}) == 7


def test_schedule_jobs_stores_lists_of_plain_arguments_exactly():
    # The COPY writes such lists item by item; each value must come back with its own type.
    args = [
        'tab\there\nline \\ "quoted" é ✓ \x01\x1f',
        "",
        0,
        -1,
        2**70,
        True,
        False,
        None,
        "1",
        "true",
        "null",
    ]
    made = schedule_jobs(
        [
            {"when": "1h", "callable": "proj.demo.jobs.echo", "args": args},
            {"when": "1h", "callable": "proj.demo.jobs.echo", "args": [1.5, "x"]},
        ]
    )
    first, second = (ScheduledJob.objects.get(pk=job.pk) for job in made)
    assert first.args == args and [type(a) for a in first.args] == [type(a) for a in args]
    assert second.args == [1.5, "x"] and type(second.args[0]) is float


def test_schedule_jobs_turns_the_cycle_collector_back_on_after_a_batch_good_or_bad():
    import gc

    assert gc.isenabled()
    schedule_jobs([{"when": "1h", "callable": "proj.demo.jobs.add", "args": [1, 2]}])
    assert gc.isenabled()
    with pytest.raises(CallableNotFound):
        schedule_jobs([{"when": "1h", "callable": "proj.demo.jobs.nope"}])
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that turned it off keeps it off
        schedule_jobs([{"when": "1h", "callable": "proj.demo.jobs.add", "args": [1, 2]}])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_nul_character_in_an_argument_is_refused_by_name_on_every_database():
    with pytest.raises(ArgumentNotSerializable, match=r"args\[1\] cannot be stored: .*NUL"):
        schedule_job("1h", "proj.demo.jobs.echo", args=["fine", "not\x00fine"])
    with pytest.raises(ArgumentNotSerializable, match=r"jobs\[1\]: kwargs\['k'\]\['n'\].*NUL"):
        schedule_jobs(
            [
                {"when": "1h", "callable": "proj.demo.jobs.echo"},
                {"when": "1h", "callable": "proj.demo.jobs.echo", "kwargs": {"k": {"n": "\x00"}}},
            ]
        )
    assert not ScheduledJob.objects.exists()
