"""The supervisord configuration of ``manage.py scheduler_export_supervisord``: programs for
Celery's worker and beat (with future_celery's scheduler), and, for projects without Celery,
one that runs a shell script calling ``manage.py scheduler_run_jobs`` (superdjango's
set-up)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from django.conf import settings


def project_dir() -> Path:
    """Where manage.py is run from: settings.BASE_DIR, else the working directory."""
    base = getattr(settings, "BASE_DIR", None)
    return Path(base) if base else Path.cwd()


def settings_module() -> str:
    """The settings module in use (``--settings`` or DJANGO_SETTINGS_MODULE)."""
    return settings.SETTINGS_MODULE or os.environ.get("DJANGO_SETTINGS_MODULE") or "settings"


def project_name() -> str:
    """The project's package: the first part of its settings module ('proj' for
    'proj.settings'), also the Celery app's name for ``celery -A``."""
    return settings_module().split(".", 1)[0]


def config(script: str | Path, name: str, celery_app: str | None = None) -> str:
    """The text of a supervisord configuration: ``NAME_worker`` and ``NAME_beat`` (Celery),
    and ``NAME_scheduler`` running ``script``, off by default (for a project without Celery;
    beside Celery it would be safe but idle)."""
    directory = project_dir()
    bin_dir = Path(sys.executable).parent
    app = celery_app or project_name()
    logs = directory / "logs"
    environment = f'DJANGO_SETTINGS_MODULE="{settings_module()}"'
    programs = [
        (
            "worker",
            f"{bin_dir / 'celery'} -A {app} worker --loglevel INFO",
            "true",
            "",
        ),
        (
            "beat",
            f"{bin_dir / 'celery'} -A {app} beat -S future_celery.beat:DatabaseScheduler "
            "--loglevel INFO",
            "true",
            "; One beat per database.\n",
        ),
        (
            "scheduler",
            shlex.quote(str(script)),
            "false",
            "; For a project without Celery: runs the jobs in-process (manage.py\n"
            "; scheduler_run_jobs). Set autostart=true and leave out the two programs above.\n",
        ),
    ]
    sections = [
        f"; supervisord programs of {name}, written by manage.py scheduler_export_supervisord.\n"
    ]
    for program, command, autostart, comment in programs:
        sections.append(
            f"{comment}[program:{name}_{program}]\n"
            f"command={command}\n"
            f"directory={directory}\n"
            f"environment={environment}\n"
            f"autostart={autostart}\n"
            "autorestart=true\n"
            "stopsignal=TERM\n"
            "stopwaitsecs=60\n"
            f"stdout_logfile={logs / f'{name}_{program}.out.log'}\n"
            f"stderr_logfile={logs / f'{name}_{program}.err.log'}\n"
        )
    return "\n".join(sections)


def script(path: str | None = None) -> str:
    """The shell script the ``scheduler`` program runs: this virtual environment's Python
    running ``manage.py scheduler_run_jobs`` with these settings (and ``-P path``)."""
    directory = project_dir()
    python = shlex.quote(sys.executable)
    command = [
        f"{python} manage.py scheduler_run_jobs",
        f"--settings={shlex.quote(settings_module())}",
    ]
    if path:
        command.append(f"-P {shlex.quote(path)}")
    return (
        "#! /usr/bin/env bash\n"
        "# Written by manage.py scheduler_export_supervisord: runs the recurring and scheduled\n"
        "# jobs in this process (future_celery), for a project without Celery.\n"
        f"cd {shlex.quote(str(directory))} && exec {' '.join(command)}\n"
    )
