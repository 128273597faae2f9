"""The exceptions future_celery raises. Each also derives from the standard type a caller
would expect, so ``except ValueError`` keeps working."""

from django.core.exceptions import ImproperlyConfigured


class FutureCeleryError(Exception):
    """Base of every error raised by future_celery."""


class InvalidTimeSpec(FutureCeleryError, ValueError):
    """Raised when a time or offset cannot be read (e.g. '5x', '', '-3d')."""


class InvalidRecurrence(FutureCeleryError, ValueError):
    """Raised when a recurring schedule cannot be read (an unknown unit, 'at' with an
    elapsed interval, a bad cron field, a cron expression that never matches...)."""


class InvalidExpiry(FutureCeleryError, ValueError):
    """Raised when a job's expiry is at or before its scheduled time."""


class CallableNotFound(FutureCeleryError, ImportError):
    """Raised when a job's callable cannot be imported or is not callable."""


class CallableNotAllowed(FutureCeleryError, PermissionError):
    """Raised when a callable is not in FUTURE_CELERY_ALLOWED_CALLABLES."""


class ArgumentNotSerializable(FutureCeleryError, TypeError):
    """Raised when a job argument cannot be stored as JSON."""


class ContentObjectMissing(FutureCeleryError, LookupError):
    """Raised when a job's content object (or a model argument) was deleted before the run."""


class MalformedJob(FutureCeleryError, ValueError):
    """Raised when a job row cannot be run as stored (e.g. arguments of the wrong shape)."""


class InvalidJobState(FutureCeleryError, ValueError):
    """Raised when an operation does not fit the job's status (e.g. cancelling a running job)."""


class RunnerAlreadyActive(FutureCeleryError, RuntimeError):
    """Raised when a second in-process runner starts while one is active."""


class JobExited(FutureCeleryError, RuntimeError):
    """Raised when a job raised SystemExit (or another BaseException that is not an
    Exception, such as asyncio.CancelledError), in its place: the job is recorded as failed
    with its traceback, and the exception, its cause, does not end the process that ran it."""


class InvalidOption(FutureCeleryError, ValueError):
    """Raised when an option of schedule_job() and its kin has a bad value (a priority of
    300, a batch size of 0, an unsaved content object...)."""


class WrongOptionType(FutureCeleryError, TypeError):
    """Raised when an option of schedule_job() and its kin has the wrong type, or is not
    one it takes."""


class JobAlreadyScheduled(FutureCeleryError, ValueError):
    """Raised when a job is scheduled with a ``unique_key`` that a pending job (scheduled,
    queued or running) already holds; nothing was saved. ``key`` is the key, ``job_id`` the
    pending job's id (None if it finished before it could be read)."""

    def __init__(self, message: str, key: str | None = None, job_id: int | None = None):
        super().__init__(message)
        self.key, self.job_id = key, job_id


class SQLiteRoleTaken(FutureCeleryError, RuntimeError):
    """Raised when a second celery beat or worker starts on one SQLite database."""


class UnknownSetting(FutureCeleryError, KeyError):
    """Raised when code asks for a FUTURE_CELERY_ setting that does not exist."""


class AppNotLoaded(FutureCeleryError, ImproperlyConfigured):
    """Raised when the future_celery app is needed but not loaded (not in INSTALLED_APPS,
    or Django not set up)."""


class CeleryAppNotConfigured(FutureCeleryError, ImproperlyConfigured):
    """Raised when a job would be handed to Celery in a process where no Celery app of the
    project is loaded (only Celery's default one, which publishes to amqp://localhost):
    ``from .celery import app as celery_app`` missing from yourproject/__init__.py, or
    FUTURE_CELERY_CELERY_APP naming no Celery app."""


class BackgroundTaskTableMissing(FutureCeleryError, LookupError):
    """Raised when the import of django-background-tasks' jobs finds no ``background_task``
    table in the database, or one without the columns it reads."""


class DjangoFutureTableMissing(FutureCeleryError, LookupError):
    """Raised when the import of django-future's jobs finds no ``django_future_scheduledjob``
    table in the database, or one without the columns it reads."""


class SchedulerFileError(FutureCeleryError, ValueError):
    """Raised when a scheduler.ini file cannot be read: malformed (its message names the file
    and the line), or missing where a command was given its path."""


class FrontDoorMissing(FutureCeleryError, ImproperlyConfigured):
    """Raised when a row marked for a front door (a Django task's) is run in a process where
    that front door is not loaded."""


class InvalidBackendOptions(FutureCeleryError, ImproperlyConfigured):
    """Raised when the OPTIONS of a FutureCeleryBackend in TASKS hold an unknown key or a
    bad value."""


class ReturnValueNotStorable(FutureCeleryError, TypeError, ValueError):
    """Raised when a Django task returns a value that cannot be stored on its row: not JSON,
    or longer as JSON text than FUTURE_CELERY_MAX_TEXT_LENGTH. A TypeError, as Django's
    Tasks contract has it for a return value that is not JSON (and a ValueError, as it was)."""


class DoNotRetry(FutureCeleryError):
    """Raised by a job (of any front door) to fail at once, for good: its attempt is
    recorded as failed and not retried, whatever attempts it has left. Subclass it for the
    job's own errors (django-background-tasks' InvalidTaskError does), or raise it from the
    real cause: ``raise DoNotRetry("invoice 42 is gone") from exc``."""


class TasksFrameworkMissing(ImportError):
    """Neither django.tasks (Django 6.0) nor the django-tasks backport is installed."""
