"""Agent processes: started in their own session under a deadline, and nothing they start outlives them.

Killing the process group is not enough: an agent can leave it (`setsid`, `setpgid`, a double fork). So while a
command runs the harness is a child subreaper (orphans of its descendants become its children instead of init's)
and, when it ends, kills each descendant that did not exist before the command started. SIGTERM to the harness (a
cancelled CI job) kills the running agents before the harness exits; an xdist worker gets that SIGTERM when its
controller dies, however it died. Only SIGKILL of the process running the agent escapes all this: the sandbox
(`--die-with-parent`, a PID namespace) covers that case.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

KILL_GRACE_SECONDS = 3.0
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# Exit statuses of a POSIX shell whose command could not be started.
NOT_STARTED_STATUSES = {126: "not executable", 127: "command not found"}


@dataclass(frozen=True)
class ProcessResult:
    """How one command ended. `returncode` is negative for a signal, None when it never started."""

    returncode: int | None
    timed_out: bool
    start_error: str | None = None

    @property
    def started(self) -> bool:
        return self.start_error is None and self.returncode not in NOT_STARTED_STATUSES

    @property
    def why_not_started(self) -> str | None:
        if self.start_error is not None:
            return self.start_error
        if self.returncode in NOT_STARTED_STATUSES:
            return f"{NOT_STARTED_STATUSES[self.returncode]} (status {self.returncode})"
        return None


# Process groups of the agents running in this process, killed if the harness gets SIGTERM.
RUNNING: set[int] = set()


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    seconds: float,
    stdout_path: Path,
    stderr_path: Path,
    pass_fds: Sequence[int] = (),
) -> ProcessResult:
    """Run argv in a new session with closed stdin, appending its output to two log files; kill it at the deadline.

    Whatever the command started is killed when it ends, whether it ends by itself or at the deadline.
    """
    end_with_the_xdist_controller()
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    with ADOPTING_ORPHANS, open(stdout_path, "ab") as out, open(stderr_path, "ab") as err:
        before = descendants(os.getpid())
        try:
            process = subprocess.Popen(
                list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, pass_fds=tuple(pass_fds),
            )
        except OSError as error:
            return ProcessResult(None, False, f"{argv[0]}: {error.strerror or error}")
        RUNNING.add(process.pid)
        try:
            with terminate_agents_on_sigterm():
                returncode, timed_out = wait_until(process, seconds)
        finally:
            kill_group(process)
            kill_new_descendants(before)
            RUNNING.discard(process.pid)
    return ProcessResult(process.returncode if returncode is None else returncode, timed_out)


def wait_until(process: subprocess.Popen[bytes], seconds: float) -> tuple[int | None, bool]:
    """The exit status, or (None, True) at the deadline. Wakes when the process exits (through a pidfd): Popen's
    own wait with a timeout polls at doubling intervals, which made a 33 ms command take 64 ms."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        return wait_polling(process, seconds)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(max(seconds, 0.001) * 1000):
            return None, True
    finally:
        os.close(pidfd)
    return process.wait(), False


def wait_polling(process: subprocess.Popen[bytes], seconds: float) -> tuple[int | None, bool]:
    try:
        return process.wait(timeout=max(seconds, 0.001)), False
    except subprocess.TimeoutExpired:
        return None, True


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            continue
        if sig is signal.SIGTERM and not group_alive(process.pid):
            break


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


class Adoption:
    """How many commands of this process are running: while any is, the process is a child subreaper (orphans of
    its descendants become its children instead of init's, so they can still be found and killed). Between
    commands it is not, so that init reaps what other parts of the harness leave (dbt's helper processes)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0

    def __enter__(self) -> None:
        with self.lock:
            self.running += 1
            prctl(PR_SET_CHILD_SUBREAPER, 1)

    def __exit__(self, *exc_info: object) -> None:
        with self.lock:
            self.running -= 1
            if not self.running:
                prctl(PR_SET_CHILD_SUBREAPER, 0)


ADOPTING_ORPHANS = Adoption()


def end_with_the_xdist_controller() -> None:
    """In an xdist worker: SIGTERM when the controller dies (a cancelled job may signal only pytest's own process,
    and the workers would go on running their agents), so the worker kills its agents and exits."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def prctl(option: int, value: int) -> None:
    """Set a process attribute (Linux); elsewhere nothing happens."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def parents() -> dict[int, int]:
    """pid -> parent pid of every process this user can see in /proc."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        found[int(entry.name)] = int(fields[1])
    return found


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for child, parent in parents().items():
        children.setdefault(parent, []).append(child)
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def kill_new_descendants(before: set[int], seconds: float = KILL_GRACE_SECONDS) -> None:
    """Stop, then kill, every descendant of this process that is not in `before`, until none is left (or for at
    most `seconds`). The pause between rounds starts short: usually the one leftover is an init process (bwrap's)
    already on its way out, and every agent start pays for the wait."""
    deadline, pause = time.monotonic() + seconds, 0.001
    while time.monotonic() < deadline:
        leftovers = descendants(os.getpid()) - before
        if not leftovers:
            return
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in leftovers:
                send(pid, sig)
        reap(leftovers)
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def send(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def reap(pids: set[int]) -> None:
    """Collect the exit status of killed orphans that became our children (they would stay zombies)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


@contextmanager
def terminate_agents_on_sigterm() -> Iterator[None]:
    """While an agent runs, SIGTERM kills the running agents first, then acts as it did before."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: FrameType | None) -> None:
        for pgid in list(RUNNING):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        kill_new_descendants(set())
        signal.signal(signal.SIGTERM, previous)
        if callable(previous):
            previous(signum, frame)
        else:
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

