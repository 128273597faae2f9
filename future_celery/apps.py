from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FutureCeleryConfig(AppConfig):
    name = "future_celery"
    verbose_name = _("Scheduled jobs")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, signal_handlers  # noqa: F401  (checks register on import)

        signal_handlers.connect()
