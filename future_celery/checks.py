"""System checks for configurations that would break future_celery's guarantees."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.db import connections

from . import conf


@checks.register()
def check_use_tz(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if not settings.USE_TZ:
        return [
            checks.Error(
                "future_celery needs USE_TZ = True: job times are stored in UTC and compared "
                "across processes and time zones.",
                hint="Set USE_TZ = True in your settings.",
                id="future_celery.E001",
            )
        ]
    return []


@checks.register()
def check_celery_app(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """A process that hands jobs to Celery (after each commit, unless
    FUTURE_CELERY_DISPATCH_ON_COMMIT is off) must have the project's Celery app loaded, or
    named by FUTURE_CELERY_CELERY_APP: Celery's default app would send the jobs to
    amqp://localhost, where no worker reads them (see future_celery.celery_app)."""
    from . import celery_app
    from .exceptions import CeleryAppNotConfigured

    if not conf.get("DISPATCH_ON_COMMIT") and not conf.get("CELERY_APP"):
        return []  # this process never publishes (a project without Celery)
    try:
        if conf.get("CELERY_APP"):
            celery_app.named(conf.get("CELERY_APP"))
        elif celery_app.current() is None:
            raise CeleryAppNotConfigured(celery_app.not_loaded_message())
    except CeleryAppNotConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint=f"In yourproject/__init__.py: {celery_app.MISSING_LINE}"
                if not conf.get("CELERY_APP")
                else f"Set {celery_app.SETTING} as you name the app to `celery -A`.",
                id="future_celery.E010",
            )
        ]
    return []


@checks.register(deploy=True)
def check_allowed_callables(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Without an allow-list, a job row is as powerful as whoever can write it."""
    if conf.get("ALLOWED_CALLABLES") is not None:
        return []
    return [
        checks.Warning(
            "FUTURE_CELERY_ALLOWED_CALLABLES is not set: any importable callable may be "
            "scheduled, and a job row written or edited in the database by other means than "
            "future_celery (SQL, a bug, a compromised account with database access) runs "
            "whatever callable it names on the workers, subprocess.getoutput included.",
            hint="Set it to the dotted-path patterns of your jobs' callables (fnmatch), e.g. "
            "FUTURE_CELERY_ALLOWED_CALLABLES = ['myapp.jobs.*', 'myapp.tasks.*']; the workers "
            "check it again before running each job.",
            id="future_celery.W004",
        )
    ]


@checks.register(deploy=True)
def check_beat_mode(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Which scheduler `celery beat -S future_celery` stands on, and why (manage.py check
    --deploy; beat logs it too when it starts)."""
    from .beat import DJANGO_CELERY_BEAT, mode

    current = mode()
    if current.name == DJANGO_CELERY_BEAT:
        hint = (
            "To run without it, remove django_celery_beat from INSTALLED_APPS: the tick then "
            "runs on Celery's own scheduler."
        )
    else:
        hint = (
            "For the tick as a periodic task in django-celery-beat's admin (Django 5.2 and "
            '6.0 so far): pip install "future_celery[celery-beat]", add django_celery_beat to '
            "INSTALLED_APPS and migrate."
        )
    return [
        checks.Info(
            f"celery beat -S future_celery runs on {current.name}'s scheduler: {current.why}",
            hint=hint,
            id="future_celery.I001",
        )
    ]


@checks.register()
def check_lookahead_covers_a_tick(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:

    lookahead, interval = conf.get("LOOKAHEAD"), conf.get("TICK_INTERVAL")
    if lookahead < interval:
        return [
            checks.Warning(
                f"FUTURE_CELERY_LOOKAHEAD ({lookahead:g} s) is shorter than "
                f"FUTURE_CELERY_TICK_INTERVAL ({interval:g} s): a job due between two ticks is "
                f"dispatched only by the next one, up to {interval - lookahead:g} s late.",
                hint=(
                    f"Keep the look-ahead at a few tick intervals (the defaults: "
                    f"{conf.DEFAULTS['LOOKAHEAD']:g} s and {conf.DEFAULTS['TICK_INTERVAL']:g} s)."
                ),
                id="future_celery.W002",
            )
        ]
    return []


# MySQL 8 and MariaDB 10.6 are the first with SELECT ... FOR UPDATE SKIP LOCKED, which lets
# several beats, workers and runners take jobs without waiting on each other's locks.
MYSQL_MINIMUM, MARIADB_MINIMUM = (8, 0, 11), (10, 6)


@checks.register(checks.Tags.database)
def check_mysql_server(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """On MySQL or MariaDB (checked where Django checks the database: migrate, or
    check --database): a server new enough, and time zone tables loaded."""
    messages: list[checks.CheckMessage] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "mysql":
            continue
        messages += _mysql_server_messages(alias, connection)
    return messages


def _mysql_server_messages(alias: str, connection: Any) -> list[checks.CheckMessage]:
    name = "MariaDB" if connection.mysql_is_mariadb else "MySQL"
    minimum = MARIADB_MINIMUM if connection.mysql_is_mariadb else MYSQL_MINIMUM
    version = connection.mysql_version
    if version < minimum:
        return [
            checks.Error(
                f"future_celery needs {name} {'.'.join(map(str, minimum))} or newer for "
                f"SELECT ... FOR UPDATE SKIP LOCKED; database {alias!r} is {name} "
                f"{'.'.join(map(str, version))}.",
                hint=f"Upgrade the {name} server, or use PostgreSQL.",
                id="future_celery.E002",
            )
        ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONVERT_TZ('2000-01-01 00:00:00', 'UTC', 'Europe/Berlin')")
        (converted,) = cursor.fetchone()
    if converted is None:
        return [
            checks.Warning(
                f"{name} on database {alias!r} has no time zone tables: with USE_TZ, "
                "Django's per-day, per-month and per-year queries (the admin's date "
                "hierarchy of jobs) find nothing.",
                hint="Load them: mysql_tzinfo_to_sql /usr/share/zoneinfo | mysql -u root mysql",
                id="future_celery.W003",
            )
        ]
    return []
