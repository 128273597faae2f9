"""Create (once) the demo admin login and print how to use the demo."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from kombu import Connection


class Command(BaseCommand):
    help = "Create the demo admin user (once) and print its login."

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000")

    def handle(self, *args, port="8000", **options):
        self.check_broker()
        password_file = Path(settings.BASE_DIR) / ".admin-password"
        if not password_file.exists():
            password_file.write_text(secrets.token_urlsafe(12))
        password = password_file.read_text().strip()
        user, _ = get_user_model().objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        user.set_password(password)
        user.save()
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            f"\n  Demo page:  {base}/   (schedule a job)\n"
            f"  Admin:      {base}/admin/future_celery/scheduledjob/\n"
            f"  Login:      admin / {password}\n"
        )

    def check_broker(self):
        """Fail early, and say what to do, when the broker (local Redis by default) is down."""
        url = settings.CELERY_BROKER_URL
        try:
            with Connection(url, connect_timeout=3) as connection:
                connection.ensure_connection(max_retries=1)
        except Exception as exc:
            if url.startswith(("redis://", "rediss://")):
                hint = (
                    "  Start Redis:  redis-server --daemonize yes --bind 127.0.0.1 --port 6379\n"
                    "  (Debian/Ubuntu: apt-get install redis-server), or set CELERY_BROKER_URL."
                )
            else:
                hint = "  Start that broker, or set CELERY_BROKER_URL to one that runs."
            raise CommandError(
                f"The Celery broker at {url} is not reachable ({exc}).\n{hint}"
            ) from exc
