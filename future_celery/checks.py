"""System checks for configurations that would break future_celery's guarantees."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core import checks

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
def check_beat_installed(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if not apps.is_installed("django_celery_beat"):
        return [
            checks.Warning(
                "django_celery_beat is not installed: the future_celery tick is not registered as "
                "a periodic task, so jobs are dispatched only right after they are scheduled (when "
                "due within the look-ahead) or by `runscheduledjobs --dispatch` from cron.",
                hint="Add 'django_celery_beat' to INSTALLED_APPS and run celery beat -S django.",
                id="future_celery.W001",
            )
        ]
    return []


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
