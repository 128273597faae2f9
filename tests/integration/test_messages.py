"""The dispatcher's batch sender: the same messages as run_job.apply_async, on real Redis
(whose keys show the messages as they were sent)."""

import datetime as dt
import json

import pytest
from celery import signals
from django.utils import timezone

from future_celery import ScheduledJob, dispatch, messages, schedule_job
from future_celery.tasks import run_job

pytestmark = pytest.mark.engine

ROUTED = "messages-routed"  # where task_routes sends run_job; no worker consumes these queues
NAMED = "messages-named"


@pytest.fixture
def routed(redis_broker):
    """run_job routed to ROUTED by the app's task_routes; the queues emptied before and after."""
    app = run_job.app
    saved = app.conf.task_routes

    def use_routes(routes):
        app.conf.task_routes = routes
        app.amqp.flush_routes()
        app.amqp.__dict__.pop("router", None)  # a cached property, made with the old routes

    use_routes({"future_celery.run_job": {"queue": ROUTED}})
    broker = redis_broker.client
    empty = lambda: broker.delete(*(broker.keys("messages-*") or ["-"]))  # noqa: E731
    empty()
    yield
    use_routes(saved)
    empty()


def rows(now):
    return [
        # Due in a minute (an eta), with an expiry, no queue of its own: task_routes applies.
        (
            7,
            "proj.demo.jobs.add",
            now + dt.timedelta(minutes=1),
            now + dt.timedelta(days=7),
            "",
            None,
            None,
            None,
            "fc-7-a",
        ),
        # Due already, no expiry, its own queue and priority, time limits.
        (
            8,
            "proj.demo.jobs.remind",
            now - dt.timedelta(seconds=5),
            None,
            NAMED,
            3,
            1.5,
            2.0,
            "fc-8-b",
        ),
    ]


def sent(redis):
    """The messages in the test queues, oldest first, by queue key."""
    return {
        key: [json.loads(raw) for raw in reversed(redis.lrange(key, 0, -1))]
        for key in redis.keys("messages-*")
    }


def test_a_batch_goes_out_as_apply_async_would_send_it(routed, redis_broker):
    broker = redis_broker.client
    now = timezone.now()
    with run_job.app.producer_or_acquire() as producer:
        messages.send(producer, rows(now), now)
    ours = sent(broker)
    empty_queues = broker.delete(*ours)
    with run_job.app.producer_or_acquire() as producer:
        for row in rows(now):
            run_job.apply_async(producer=producer, **messages._apply_async_options(row, now))
    theirs = sent(broker)
    assert empty_queues == 2 and ours.keys() == theirs.keys()
    # kombu's Redis key of a queue with a priority is the queue's name, a separator and it.
    assert sorted(key.decode().split("\x06")[0] for key in ours) == [NAMED, ROUTED]
    for key in ours:
        (mine,), (celerys,) = ours[key], theirs[key]
        mine_props, celerys_props = mine.pop("properties"), celerys.pop("properties")
        assert mine == celerys  # headers (eta, expires, shadow, limits...), body, encoding
        assert mine_props.pop("delivery_tag") != celerys_props.pop("delivery_tag")
        # apply_async gives a message with an expiry a time to live (RabbitMQ drops it
        # unseen when it runs out); ours have none (see messages), the worker expires them.
        assert "expiration" not in mine_props
        celerys_props.pop("expiration", None)
        assert mine_props == celerys_props
    headers = {m["headers"]["id"]: m["headers"] for queue in ours.values() for m in queue}
    assert headers["fc-7-a"]["eta"] and headers["fc-8-b"]["eta"] is None
    assert headers["fc-8-b"]["timelimit"] == [2.0, 1.5] and headers["fc-7-a"]["argsrepr"] == "[7]"


def test_from_inside_a_worker_task_the_messages_name_it_as_parent(routed, redis_broker):
    broker = redis_broker.client
    from celery._state import _task_stack

    now = timezone.now()
    run_job.push_request(id="fc-parent", root_id="fc-root", called_directly=False)
    _task_stack.push(run_job)  # as a worker does around a task, e.g. a job scheduling jobs
    try:
        with run_job.app.producer_or_acquire() as producer:
            messages.send(producer, rows(now)[:1], now)
        ours = sent(broker)
        broker.delete(*ours)
        with run_job.app.producer_or_acquire() as producer:
            run_job.apply_async(
                producer=producer, **messages._apply_async_options(rows(now)[0], now)
            )
    finally:
        _task_stack.pop()
        run_job.pop_request()
    (mine,), (celerys,) = ours.values(), sent(broker).values()
    assert (
        mine[0]["headers"]["parent_id"] == "fc-parent"
        and mine[0]["headers"]["root_id"] == "fc-root"
    )
    assert mine[0]["headers"] == celerys[0]["headers"]


def test_the_publish_signals_see_every_message(routed, redis_broker):
    seen = []

    def before(sender, headers, **kwargs):
        seen.append(("before", sender, headers["id"], headers["shadow"]))

    def after(sender, headers, **kwargs):
        seen.append(("after", sender, headers["id"], headers["shadow"]))

    signals.before_task_publish.connect(before, weak=False)
    signals.after_task_publish.connect(after, weak=False)
    try:
        now = timezone.now()
        with run_job.app.producer_or_acquire() as producer:
            messages.send(producer, rows(now), now)
    finally:
        signals.before_task_publish.disconnect(before)
        signals.after_task_publish.disconnect(after)
    assert seen == [
        ("before", "future_celery.run_job", "fc-7-a", "proj.demo.jobs.add"),
        ("after", "future_celery.run_job", "fc-7-a", "proj.demo.jobs.add"),
        ("before", "future_celery.run_job", "fc-8-b", "proj.demo.jobs.remind"),
        ("after", "future_celery.run_job", "fc-8-b", "proj.demo.jobs.remind"),
    ]


def test_in_eager_mode_a_dispatched_job_runs_here(transactional_db, settings):
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    job = schedule_job(timezone.now() - dt.timedelta(seconds=1), "proj.demo.jobs.add", args=[2, 3])
    app = run_job.app
    app.conf.task_always_eager = True
    try:
        assert dispatch.tick().dispatched == 1
    finally:
        app.conf.task_always_eager = False
    job.refresh_from_db()
    assert (job.status, job.return_value) == (ScheduledJob.STATUS_COMPLETE, "5")
