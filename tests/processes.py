"""Starting and stopping real celery worker / beat processes of proj for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wait_until(
    condition: Callable[[], object],
    timeout: float = 30.0,
    interval: float = 0.1,
    action: Callable[[], object] | None = None,
) -> bool:
    """Poll ``condition`` (calling ``action`` before each poll) until true or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if action is not None:
            action()
        if condition():
            return True
        time.sleep(interval)
    return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_started: list[Process] = []


def stop_all() -> None:
    """Kill whatever a test started and did not stop (called at the end of the session)."""
    for process in _started:
        if process.popen.poll() is None:
            process.signal_group(signal.SIGKILL)


class Process:
    """A subprocess in its own process group, whose output is collected in a file."""

    def __init__(
        self, name: str, command: list[str], env: dict[str, str], cwd: Path = ROOT
    ) -> None:
        _started.append(self)
        self.name = name
        fd, path = tempfile.mkstemp(prefix=f"fc-{name}-", suffix=".log")
        self.log_path = Path(path)
        self._log = os.fdopen(fd, "wb")
        self.popen = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 60.0) -> None:
        if not wait_until(lambda: text in self.output or self.popen.poll() is not None, timeout):
            raise TimeoutError(
                f"{self.name} did not print {text!r} in {timeout}s:\n{self.output[-3000:]}"
            )
        if text not in self.output:
            raise RuntimeError(
                f"{self.name} exited with {self.popen.returncode}:\n{self.output[-3000:]}"
            )

    def messages_received(self, task: str) -> int:
        """How many messages of ``task`` (a job's callable name, the name its messages carry)
        this worker has logged as received."""
        return sum(
            1
            for line in self.output.splitlines()
            if f"Task {task}[" in line and line.endswith("received")
        )

    def signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.popen.pid, signum)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (warm shutdown), then SIGKILL for the whole group if it hangs."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.signal_group(signal.SIGKILL)
        self.popen.wait(10)
        self._log.close()

    def kill(self) -> None:
        self.signal_group(signal.SIGKILL)
        self.popen.wait(10)
        self._log.close()

    def rss_kib(self, children: bool = True) -> int:
        """Resident memory of the process and its children (a worker's pool), in KiB. Pages
        the pool processes share with their parent count once per process. Without
        ``children``, the process's own (a worker's main process, which holds the messages)."""
        return self._memory_kib("/proc/{pid}/status", "VmRSS:", children)

    def pss_kib(self) -> int:
        """Proportional memory of the process and its children, in KiB: each shared page
        counts once in all, split between the processes sharing it (what the pool costs)."""
        return self._memory_kib("/proc/{pid}/smaps_rollup", "Pss:")

    def _memory_kib(self, path: str, field: str, children: bool = True) -> int:
        total = 0
        for pid in [self.popen.pid, *(self.child_pids() if children else [])]:
            try:
                with open(path.format(pid=pid)) as lines:
                    total += next(int(line.split()[1]) for line in lines if line.startswith(field))
            except (FileNotFoundError, ProcessLookupError, StopIteration):
                pass
        return total

    def child_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.popen.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]


def celery_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "proj", *args]


_counter = iter(range(1, 10_000))
_counter_lock = threading.Lock()


def start_worker(
    env: dict[str, str],
    *,
    queues: str | None = None,
    concurrency: int = 2,
    extra: tuple[str, ...] = (),
) -> Process:
    """`celery -A proj worker` (the Procfile's command), ready to take messages."""
    with _counter_lock:
        number = next(_counter)
    name = f"w{number}-{os.getpid()}@%h"
    args = [
        "worker",
        "--loglevel",
        "INFO",
        "--pool",
        "prefork",
        "--concurrency",
        str(concurrency),
        "-n",
        name,
        "--without-mingle",
        "--without-gossip",
        *extra,
    ]
    if queues:
        args += ["-Q", queues]
    process = Process(f"worker{number}", celery_command(*args), env)
    process.wait_for_output(" ready.")
    return process


def start_beat(env: dict[str, str]) -> Process:
    """`celery -A proj beat -S future_celery.beat:DatabaseScheduler` (the Procfile's command)."""
    schedule = tempfile.mkdtemp(prefix="fc-beat-")
    process = Process(
        "beat",
        celery_command(
            "beat",
            "-S",
            "future_celery.beat:DatabaseScheduler",
            "--loglevel",
            "INFO",
            "--pidfile",
            "",
            "--schedule",
            os.path.join(schedule, "s"),
        ),
        env,
    )
    process.wait_for_output("beat: Starting...")
    return process
