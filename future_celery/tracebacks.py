"""A job's traceback as its owner wants to read it: the frames of their own code first. A
job's traceback starts with the frames of the code that ran it (Celery's trace, billiard,
future_celery's tasks and execution), which say nothing about what went wrong."""

from __future__ import annotations

import re

# The frames of the machinery that runs a job, by the path of their file.
_MACHINERY = re.compile(r"[/\\](celery|billiard|kombu|future_celery|asgiref|django[/\\]db)[/\\]")
_FRAME = re.compile(r'^  File "(?P<path>[^"]+)", line \d+, in ')


def own_frames(text: str) -> str | None:
    """The traceback ``text`` without the machinery's frames: its first line, the job's own
    frames and what follows them (the exception). None when ``text`` is not a traceback
    or has no frame of the job's own code."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("Traceback (most recent call last):"):
        return None
    kept, own, frame_lines = [lines[0]], False, []
    index = 1
    while index < len(lines):
        match = _FRAME.match(lines[index])
        if not match:
            break
        frame_lines = [lines[index]]
        index += 1
        while index < len(lines) and lines[index].startswith("    "):
            frame_lines.append(lines[index])
            index += 1
        if not _MACHINERY.search(match.group("path")):
            kept += frame_lines
            own = True
    if not own:
        return None
    return "\n".join([*kept, *lines[index:]])
