"""Settings of the example project. Everything that differs between machines comes from the
environment, with defaults that work on a fresh machine (SQLite file, local Redis; `make run`
picks kombu's filesystem transport instead when there is no Redis: scripts/choose-broker)."""

import os
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent


# The Django backend of each DATABASE_URL scheme that names a server.
SERVER_ENGINES = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}


def database_from_url(url: str) -> dict:
    """A DATABASES entry from a URL: postgres://user:pass@host:port/name,
    mysql://user:pass@host:port/name (MySQL 8 or MariaDB 10.6 and newer) or sqlite:///path."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        name = unquote(parts.path[1:]) if parts.path not in ("", "/") else ":memory:"
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}
    engine = SERVER_ENGINES.get(parts.scheme)
    if engine is None:
        raise ValueError(f"DATABASE_URL: unsupported scheme {parts.scheme!r} in {url!r}")
    entry = {
        "ENGINE": f"django.db.backends.{engine}",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }
    if engine == "mysql":
        entry["OPTIONS"] = {"charset": "utf8mb4"}
    return entry


# The folders of kombu's filesystem transport: messages (in and out), processed, control.
_FILESYSTEM_FOLDERS = ("messages", "processed", "control")


def broker_transport_options(url: str, folder: str | Path | None = None) -> dict:
    """CELERY_BROKER_TRANSPORT_OPTIONS for the broker at ``url``. For kombu's filesystem
    transport (filesystem://, what `make run` falls back to without Redis) these are its
    folders: all in ``folder`` (default CELERY_BROKER_FOLDER, or .broker/ in the project),
    made if missing, so that the web, worker and beat processes of one machine share them."""
    # Redis redelivers an unacknowledged message after this many seconds. future_celery only
    # publishes jobs due within the look-ahead (seconds), so an hour is far above it (a job's
    # message is acknowledged when the job starts, so long jobs do not matter).
    options: dict = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))}
    if url.startswith("filesystem://"):
        root = Path(folder or os.environ.get("CELERY_BROKER_FOLDER", BASE_DIR / ".broker"))
        messages, processed, control = (root.resolve() / name for name in _FILESYSTEM_FOLDERS)
        for path in (messages, processed, control):
            path.mkdir(parents=True, exist_ok=True)
        options.update(
            # one folder in and out: every process both publishes and (a worker) consumes
            data_folder_in=str(messages),
            data_folder_out=str(messages),
            # kept messages go here if store_processed is turned on (off by default)
            processed_folder=str(processed),
            # the exchanges' bindings: without them, one process's queues are unknown to another
            control_folder=str(control),
        )
    return options


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-development-key-change-me")
# Off unless asked for (DJANGO_DEBUG=1): Django's debug pages show settings and code.
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # django-celery-beat when installed (pip install "future_celery[celery-beat]"; its releases
    # so far stop before Django 6.1): the tick is then a periodic task its admin shows. Without
    # it, future_celery's beat scheduler runs the tick on Celery's own (see future_celery.beat).
    *(["django_celery_beat"] if find_spec("django_celery_beat") else []),
    "future_celery",
    "proj.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The admin's and the demo's CSS and JS, served by the app server itself (gunicorn in
    # make run), without DEBUG.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "proj.urls"
WSGI_APPLICATION = "proj.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    )
}
# Workers keep their connection between jobs (a new one per job costs milliseconds).
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "300"))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Prepared statements (Django turns them off for the sake of transaction-mode poolers,
    # which this project does not use): the worker's per-job claim and completion are then
    # planned once per connection instead of once per job.
    DATABASES["default"]["OPTIONS"] = {"prepare_threshold": 5}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker, beat) share the file: wait for locks, write-ahead log.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The demo serves the apps' static files straight from their folders (no collectstatic step);
# a deployment sets DJANGO_STATIC_ROOT, runs collectstatic and drops WHITENOISE_USE_FINDERS.
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
LOGIN_URL = "admin:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"future_celery": {"handlers": ["console"], "level": "INFO"}},
}

# Celery: configured from here by proj/celery.py (namespace CELERY_).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "future_celery.beat:DatabaseScheduler"
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(CELERY_BROKER_URL)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # kombu's Redis transport, fixed so that a worker survives a Redis restart (see module).
    CELERY_BROKER_TRANSPORT = "future_celery.redis_transport:Transport"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django integration closes every database connection before and after each task
# unless this is set: a new PostgreSQL connection per job would cost more than the job's own
# claim and completion. Connections are recycled after this many tasks instead (and
# future_celery drops a broken one before its claim).
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "1000"))
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A "task-sent" event per message would double the cost of every dispatch; Flower shows jobs
# from the workers' events (received, started, succeeded) without it.
CELERY_TASK_SEND_SENT_EVENT = os.environ.get("CELERY_TASK_SEND_SENT_EVENT", "0") == "1"
CELERY_WORKER_SEND_TASK_EVENTS = os.environ.get("CELERY_WORKER_SEND_TASK_EVENTS", "1") == "1"

# Django's Tasks framework (django.tasks) on future_celery: @task functions enqueued with
# .enqueue() are job rows, run by the workers; their TaskResult is read back from the row.
TASKS = {
    "default": {
        "BACKEND": "future_celery.tasks_backend.FutureCeleryBackend",
        "QUEUES": ["default"],
        "OPTIONS": {"RETRIES": 0},
    }
}

# Only the demo's callables may be scheduled, and the workers check it again before each job:
# a row edited in the database cannot make them run anything else (check --deploy warns
# without it). "demo.*": the methods of the demo's models (content objects) and the
# @background function registered under the name demo.renamed.
FUTURE_CELERY_ALLOWED_CALLABLES = ["proj.*", "demo.*"]

# future_celery: see the README for every setting. The example reads a few from the
# environment so that tests can run it with short intervals.
for _name in (
    "TICK_INTERVAL",
    "LOOKAHEAD",
    "REQUEUE_AFTER",
    "HEARTBEAT_INTERVAL",
    "HEARTBEAT_TIMEOUT",
    "RETRY_BACKOFF",
):
    if f"FUTURE_CELERY_{_name}" in os.environ:
        globals()[f"FUTURE_CELERY_{_name}"] = float(os.environ[f"FUTURE_CELERY_{_name}"])
