"""One wrapper for every process the lab runs: start, watch, stop, and find again after a crash.

Each process runs in its own session (so a kernel restart does not kill it), logs to a file,
and is recorded in a pid file holding its pid and kernel start time, so that `down` can stop
it later from another Python process without ever signalling a recycled pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labsetup._files import write_atomic
from labsetup.errors import ComponentExited, StartTimeout


def _start_time(pid: int) -> str | None:
    """Return the kernel start time of pid (field 22 of /proc/pid/stat), or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def alive(pid: int) -> bool:
    """Tell whether pid is running.

    A zombie counts as exited only once all its threads are gone: the leader of a dying Go
    process turns Z while other threads still hold its files (and listening sockets).
    """
    state = _state(pid)
    if state in (None, "X"):
        return False
    if state == "Z":
        try:
            return len(os.listdir(f"/proc/{pid}/task")) > 1
        except OSError:
            return False
    return True


@dataclass
class ManagedProcess:
    """A lab process: its name, command line, log file and pid file."""

    name: str
    argv: list[str]
    log_file: Path
    pid_file: Path
    env: dict[str, str] | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start the process in a new session, logging to its log file."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.name}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=self.env,
                close_fds=True,
            )
        write_atomic(self.pid_file, f"{self.popen.pid} {_start_time(self.popen.pid)}\n", 0o644)

    def exit_code(self) -> int | None:
        """Return the exit code if this process (started here) has exited, else None."""
        return self.popen.poll() if self.popen else None

    def log_tail(self, lines: int = 15) -> str:
        """Return the last lines of the log file."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def recorded_pid(self) -> int | None:
        """Return the recorded pid if that very process is still running, else None."""
        try:
            pid_text, started = self.pid_file.read_text().split()
        except (OSError, ValueError):
            return None
        pid = int(pid_text)
        if _start_time(pid) != started or not alive(pid):
            return None
        return pid

    def running(self) -> bool:
        """Tell whether the recorded process is running."""
        return self.recorded_pid() is not None


def stop_all(procs: list[ManagedProcess], timeout: float = 10.0) -> list[str]:
    """Stop processes one after the other, in the given order; return what went wrong.

    Each gets SIGTERM and is waited for (SIGKILL after `timeout`) before the next is signalled,
    so the API server shuts down while etcd still answers. Works on processes started by
    another Python process (found by their pid files); removes the pid files.
    """
    problems: list[str] = []
    for proc in procs:
        pid = proc.recorded_pid()
        if pid is not None and not _stop(proc, pid, timeout):
            problems.append(f"{proc.name} (pid {pid}) ignored SIGTERM for {timeout:.0f}s and was killed")
        proc.pid_file.unlink(missing_ok=True)
    return problems


def _stop(proc: ManagedProcess, pid: int, timeout: float) -> bool:
    """SIGTERM pid's group and wait; SIGKILL it after timeout. Return True if TERM sufficed."""
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid):
        _reap(proc)
        if time.monotonic() > deadline:
            _signal_group(pid, signal.SIGKILL)
            while alive(pid):
                _reap(proc)
                time.sleep(0.02)
            return False
        time.sleep(0.02)
    _reap(proc)
    return True


def _reap(proc: ManagedProcess) -> None:
    if proc.popen is not None:
        proc.popen.poll()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group that pid leads (its session), falling back to the pid alone."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def wait_for(
    checks: dict[str, Callable[[], bool]],
    procs: list[ManagedProcess],
    deadline: float,
    where: Path | None = None,
) -> None:
    """Run checks in order until each has passed once, polling every 50 ms.

    Raises ComponentExited as soon as one of procs exits, and StartTimeout at the deadline,
    naming what is still awaited (and where the logs are).
    """
    waiting = dict(checks)
    while waiting:
        for proc in procs:
            code = proc.exit_code()
            if code is not None:
                raise ComponentExited(proc.name, code, str(proc.log_file), proc.log_tail())
        for what, check in list(waiting.items()):
            if not check():
                break
            del waiting[what]
        if not waiting:
            return
        if time.monotonic() > deadline:
            logs = f"; see the logs in {where}" if where else ""
            raise StartTimeout(f"the lab is not usable yet: still waiting for {', '.join(waiting)}{logs}")
        time.sleep(0.05)
