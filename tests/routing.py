"""A Celery router of the test settings (CELERY_TASK_ROUTES): it raises for the queue
POISON_ROUTE and leaves every other message to the next router. It stands for a project's
router that fails for one job's options, a reason of that job's own, on any broker."""

POISON_ROUTE = "poison-route"


def refuse_poison_route(name, args, kwargs, options, task=None, **kw):
    queue = options.get("queue")  # Celery has made it a kombu Queue by now
    if getattr(queue, "name", queue) == POISON_ROUTE:
        raise ValueError(f"this router takes no message for the queue {POISON_ROUTE!r}")
    return None
