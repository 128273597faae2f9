"""manage.py process_tasks: django-background-tasks' long-running worker, for projects
without Celery. It runs the due jobs of every queue (or of --queue) in this process, in
priority order, polling every --sleep seconds when none is due, for --duration seconds (0:
until stopped). SIGTERM and SIGINT stop it once the job in progress has finished."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any

from django.core.management.base import CommandError, CommandParser

from future_celery import runner
from future_celery.exceptions import RunnerAlreadyActive
from future_celery.management.base import RunnerCommand

logger = logging.getLogger("future_celery.process_tasks")


class Command(RunnerCommand):
    help = "Run due jobs in this process, polling for new ones (django-background-tasks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", help="Only run the jobs of this queue.")
        parser.add_argument(
            "--duration",
            type=float,
            default=0,
            help="Stop after this many seconds (0 or less: run until stopped). Default 0.",
        )
        parser.add_argument(
            "--sleep",
            type=float,
            default=5.0,
            help="Seconds to wait before looking again when no job is due. Default 5.",
        )
        parser.add_argument(
            "--log-std",
            action="store_true",
            help="Send what the jobs print to stdout and stderr to the logging system.",
        )

    def handle(
        self,
        *args: Any,
        queue: str | None = None,
        duration: float = 0,
        sleep: float = 5.0,
        log_std: bool = False,
        **options: Any,
    ) -> None:
        if sleep <= 0:
            raise CommandError(f"--sleep must be more than 0 seconds, not {sleep:g}")
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            logger.info("Stopping (%s) once the job in progress has finished", signum)
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        if log_std:
            sys.stdout = _LogWriter(logging.INFO)
            sys.stderr = _LogWriter(logging.ERROR)
        try:
            report = runner.process(
                queue=queue,
                duration=duration if duration > 0 else None,
                sleep=sleep,
                stop=stop,
                announce=self._announce,
            )
        except RunnerAlreadyActive as exc:
            raise CommandError(str(exc)) from exc
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(
            f"{len(report.completed)} completed, {len(report.failed)} failed, "
            f"{report.expired} expired, {report.recovered} recovered from lost workers"
        )

    def _announce(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()


class _LogWriter:
    """A stand-in for sys.stdout / sys.stderr that logs each line written to it."""

    def __init__(self, level: int) -> None:
        self.level = level
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line:
                logger.log(self.level, "%s", line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            logger.log(self.level, "%s", self._pending)
            self._pending = ""
