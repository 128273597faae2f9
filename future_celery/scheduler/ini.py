"""superdjango's ``scheduler.ini``: each section a recurring job, its name the job's label.

Keys: ``call`` (or ``callback``), the dotted path of the callback; ``every`` (or
``frequency``), the schedule ('5 seconds', '10 minutes', 'sunday'...); ``at`` ('23:30', for
day, week and weekday schedules); ``active`` (yes/no); ``description``. Ours too: ``cron``
(instead of ``every``), ``tz``, ``queue``, ``priority``, ``catch_up``, ``overlap`` and
``expires_after``, as recurring() takes them. Every other key is a keyword argument of the
callback, typed: True/False are booleans, whole and decimal numbers are numbers, anything
else (or a value in double quotes, without them) is text.

read() only reads and checks a file; load() saves its jobs as RecurringJob rows (source
'ini', the callback getting ``pk``) and deactivates the INI jobs no longer in it; dumps()
writes jobs back in this format."""

from __future__ import annotations

import ast
import configparser
import dataclasses
import inspect
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from .. import callables, conf, recurrence, recurring_jobs, serialization
from ..exceptions import FutureCeleryError, InvalidRecurrence, SchedulerFileError
from ..models import RecurringJob
from . import registry

logger = logging.getLogger("future_celery.scheduler")

CALL_KEYS = ("call", "callback")
EVERY_KEYS = ("every", "frequency")
# Our options beyond superdjango's keys, passed to recurring() as they are named there.
OPTION_KEYS = ("tz", "queue", "priority", "catch_up", "overlap", "expires_after")
NUMBER_OPTIONS = ("priority", "expires_after")
RESERVED = frozenset({*CALL_KEYS, *EVERY_KEYS, "at", "cron", "active", "description", "pk"})
RESERVED |= frozenset(OPTION_KEYS)
ACTIVE_WORDS = {
    **dict.fromkeys(("yes", "true", "on", "1"), True),
    **dict.fromkeys(("no", "false", "off", "0"), False),
}
_INT = re.compile(r"[+-]?(?:0|[1-9]\d*)")
_FLOAT = re.compile(r"[+-]?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


@dataclasses.dataclass(frozen=True)
class IniJob:
    """One section of a scheduler.ini file, read and checked (its callback imports, its
    schedule parses)."""

    label: str
    callable: str
    every: str | int | None
    at: str | None
    cron: str | None
    active: bool
    description: str
    kwargs: dict[str, Any]
    options: dict[str, Any]
    rule: recurrence.Recurrence

    def describe(self) -> str:
        """The schedule in words ('every 5 seconds', 'sundays at 23:30 (UTC)')."""
        return recurrence.describe(self.rule)


@dataclasses.dataclass
class Contents:
    """What read() found in a file: the jobs it can save, and the sections it leaves out
    with why."""

    path: Path
    jobs: list[IniJob] = dataclasses.field(default_factory=list)
    left_out: list[tuple[str, str]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class LoadReport:
    """What load() did: the jobs saved, the sections left out (label, why), the labels of the
    INI jobs deactivated because the file no longer has them; ``missing`` if there was no
    file (then nothing changed)."""

    path: Path
    missing: bool = False
    saved: list[RecurringJob] = dataclasses.field(default_factory=list)
    left_out: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    deactivated: list[str] = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        """One line for a command or a log."""
        if self.missing:
            return f"{self.path}: no such file, no job loaded"
        return (
            f"{self.path}: {len(self.saved)} jobs saved, {len(self.left_out)} left out, "
            f"{len(self.deactivated)} deactivated"
        )


def default_path() -> Path:
    """FUTURE_CELERY_SCHEDULER_PATH, else config/scheduler.ini under settings.BASE_DIR (or
    under the working directory when the project has no BASE_DIR)."""
    configured = conf.get("SCHEDULER_PATH")
    if configured:
        return Path(configured)
    base = getattr(settings, "BASE_DIR", None)
    return (Path(base) if base else Path.cwd()) / "config" / "scheduler.ini"


def read(path: str | Path | None = None) -> Contents:
    """The jobs of the file at ``path`` (default: default_path()), checked but not saved.
    Raises SchedulerFileError, naming the file and the line, for a missing or malformed
    file; a section that cannot make a job is left out with a warning naming it and the
    file."""
    path = Path(path) if path is not None else default_path()
    parser = _parser()
    try:
        with path.open(encoding="utf-8") as file:
            parser.read_file(file, source=str(path))
    except FileNotFoundError:
        raise SchedulerFileError(f"{path}: no such scheduler file") from None
    except UnicodeDecodeError as exc:
        raise SchedulerFileError(f"{path}: not UTF-8 text ({exc})") from None
    except configparser.Error as exc:
        raise SchedulerFileError(_malformed(path, exc)) from None
    contents = Contents(path)
    for label in parser.sections():
        try:
            contents.jobs.append(_job(label, dict(parser.items(label))))
        except FutureCeleryError as exc:
            _leave_out(contents.left_out, path, label, str(exc))
    return contents


def load(path: str | Path | None = None) -> LoadReport:
    """Save the jobs of the file at ``path`` (default: default_path()) as recurring jobs
    (source 'ini', callbacks given ``pk``), and deactivate the INI jobs it no longer has
    (nor can save). Idempotent: loading an unchanged file changes nothing. A missing file
    changes nothing and says so; a malformed one raises SchedulerFileError."""
    path = Path(path) if path is not None else default_path()
    if not path.exists():
        logger.info("Scheduler file %s: not found, no job loaded", path)
        return LoadReport(path, missing=True)
    contents = read(path)
    report = LoadReport(path, left_out=list(contents.left_out))
    with transaction.atomic():
        for job in contents.jobs:
            try:
                saved = registry.save(job, RecurringJob.SOURCE_INI, job.active)
            except FutureCeleryError as exc:
                _leave_out(report.left_out, path, job.label, str(exc))
            else:
                report.saved.append(saved)
        labels = [job.label for job in report.saved]
        stale = RecurringJob.objects.filter(source=RecurringJob.SOURCE_INI, active=True)
        for old in stale.exclude(label__in=labels).order_by("label"):
            recurring_jobs.set_active(old, False)
            report.deactivated.append(old.label)
            logger.warning("Scheduler file %s: job %r is no longer in it, deactivated", path, old)
    logger.info("Scheduler file %s", report.summary())
    return report


def exported_jobs() -> list[RecurringJob]:
    """The recurring jobs an export writes: those of the INI file and of code (the
    registry, @periodic, recurring() calls), active or not; not those made in the admin."""
    sources = (RecurringJob.SOURCE_INI, RecurringJob.SOURCE_CODE)
    return list(RecurringJob.objects.filter(source__in=sources).order_by("label"))


def dumps(jobs: Iterable[RecurringJob]) -> str:
    """``jobs`` as the text of a scheduler.ini file that load() reads back into the same
    jobs (labels, callables, schedules, keyword arguments, options, active)."""
    parts = [
        "; Recurring jobs of future_celery (superdjango's scheduler.ini), written by\n"
        "; manage.py scheduler_export_ini. Each section is a job; its name is the label.\n"
    ]
    parts += [_section(job) for job in jobs]
    return "\n".join(parts)


def write(path: str | Path | None = None) -> tuple[Path, int]:
    """Write every exported job (exported_jobs()) to the file at ``path`` (default:
    default_path(), its folder made if needed). Returns the path and the number of jobs."""
    path = Path(path) if path is not None else default_path()
    jobs = exported_jobs()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(jobs), encoding="utf-8")
    return path, len(jobs)


def typed(text: str) -> Any:
    """An INI value as a keyword argument: True/False as booleans, numbers as numbers, a
    value in double quotes as the text inside them, anything else as text."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def untyped(value: Any) -> str | None:
    """The INI text that typed() reads back as ``value``; None for a value that has no such
    text (None, lists, dictionaries, dates...)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        plain = typed(value) == value and value == value.strip() and "\n" not in value
        return value if plain else f'"{value}"'
    return None


def _parser() -> configparser.ConfigParser:
    # Keys keep their case (they are argument names); '%' is no interpolation.
    parser = configparser.ConfigParser(interpolation=None, default_section="DEFAULT")
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    return parser


def _malformed(path: Path, exc: configparser.Error) -> str:
    """The message of a configparser error, naming the file and the line."""
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return (
            f"{path}, line {exc.lineno}: {exc.line.strip()!r} comes before any [section] "
            "header; every job is a section such as [my job]"
        )
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"{path}, line {exc.lineno}: section [{exc.section}] is there twice"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"{path}, line {exc.lineno}: {exc.option!r} is given twice in [{exc.section}]"
    if isinstance(exc, configparser.ParsingError):
        lines = "; ".join(f"line {number}: {_text(line)!r}" for number, line in exc.errors)
        return f"{path}, {lines}: not a 'key = value' line, a [section] or a comment"
    return f"{path}: {exc}"


def _text(line: str) -> str:
    """A line as ParsingError holds it (Python 3.12 keeps its repr), stripped."""
    try:
        line = ast.literal_eval(line)
    except (ValueError, SyntaxError):
        pass
    return str(line).strip()


def _job(label: str, values: dict[str, str]) -> IniJob:
    """The job of one section; raises a FutureCeleryError saying why it cannot be one."""
    name = _first(values, CALL_KEYS)
    if not name:
        raise SchedulerFileError("it has no 'call' (or 'callback'): the callback's dotted path")
    func = callables.resolve_path(name)
    callables.check_allowed(name)
    every_text, cron = _first(values, EVERY_KEYS), values.get("cron") or None
    if every_text is None and cron is None:
        raise SchedulerFileError("it has no 'every' (or 'frequency'), e.g. 'every = 10 minutes'")
    every: str | int | None = int(every_text) if every_text and every_text.isdigit() else every_text
    at = values.get("at") or None
    tz = values.get("tz") or None
    try:
        rule = recurrence.parse(every=every, at=at, cron=cron, tz=tz)
    except InvalidRecurrence:
        rule = _without_at(every, at, cron, tz, label)
        at = None
    active_text = values.get("active", "yes").strip().lower()
    if active_text not in ACTIVE_WORDS:
        raise SchedulerFileError(f"active = {values['active']!r}: expected yes or no")
    if "pk" in values:
        raise SchedulerFileError(
            "'pk' is the recurring job's own key, given to the callback: rename this argument"
        )
    description = values["description"] if "description" in values else inspect.getdoc(func)
    options = {
        key: typed(values[key]) if key in NUMBER_OPTIONS else values[key]
        for key in OPTION_KEYS
        if key in values
    }
    return IniJob(
        label=label,
        callable=name,
        every=every,
        at=at,
        cron=cron,
        active=ACTIVE_WORDS[active_text],
        description=description or "",
        kwargs={key: typed(value) for key, value in values.items() if key not in RESERVED},
        options=options,
        rule=rule,
    )


def _without_at(
    every: str | int | None, at: str | None, cron: str | None, tz: str | None, label: str
) -> recurrence.Recurrence:
    """superdjango applies ``at`` to day and weekday schedules only and ignores it on the
    others: the schedule without it, when that is what was wrong; else the original error."""
    if at is None or every is None:
        return recurrence.parse(every=every, at=at, cron=cron, tz=tz)
    try:
        rule = recurrence.parse(every=every, cron=cron, tz=tz)
    except InvalidRecurrence:
        return recurrence.parse(every=every, at=at, cron=cron, tz=tz)  # raises the real error
    if rule.every is None:
        return recurrence.parse(every=every, at=at, cron=cron, tz=tz)  # at itself is bad
    logger.warning(
        "Scheduler job [%s]: at = %s ignored: every = %s is elapsed time", label, at, every
    )
    return rule


def _first(values: dict[str, str], keys: Iterable[str]) -> str | None:
    for key in keys:
        if values.get(key):
            return values[key]
    return None


def _leave_out(left_out: list[tuple[str, str]], path: Path, label: str, reason: str) -> None:
    left_out.append((label, reason))
    logger.warning("Scheduler file %s: section [%s] left out: %s", path, label, reason)


def _section(job: RecurringJob) -> str:
    """One job as an INI section."""
    spec = recurrence.to_spec(recurring_jobs.rule_of(job))
    lines = [f"[{job.label}]", f"call = {job.callable_name}"]
    func_doc = _docstring(job.callable_name)
    if job.description or func_doc:
        # Written even when empty: without the key, load() takes the callback's docstring.
        lines.append(_line("description", job.description))
    for key in ("every", "at", "cron"):
        if key in spec:
            lines.append(f"{key} = {spec[key]}")
    if spec.get("tz") and spec["tz"] != (settings.TIME_ZONE or "UTC"):
        lines.append(f"tz = {spec['tz']}")
    lines.append(f"active = {'yes' if job.active else 'no'}")
    if job.queue:
        lines.append(f"queue = {job.queue}")
    if job.priority is not None:
        lines.append(f"priority = {job.priority}")
    if job.catch_up != "latest":
        lines.append(f"catch_up = {job.catch_up}")
    if job.overlap != "wait":
        lines.append(f"overlap = {job.overlap}")
    if job.expires_after is not None:
        lines.append(f"expires_after = {job.expires_after!r}")
    for key, value in serialization.decode(job.kwargs).items():
        text = untyped(value)
        if key in RESERVED or text is None:
            lines.append(f"; {key} = {value!r} left out: not writable as an INI value")
            logger.warning("Export of job %r: keyword argument %r cannot be written", job, key)
        else:
            lines.append(_line(key, text))
    return "\n".join(lines) + "\n"


def _line(key: str, value: str) -> str:
    # A value of several lines goes on indented continuation lines, as configparser reads.
    return f"{key} = {value}".rstrip(" ").replace("\n", "\n\t")


def _docstring(path: str) -> str:
    try:
        return inspect.getdoc(callables.resolve_path(path)) or ""
    except FutureCeleryError:
        return ""
