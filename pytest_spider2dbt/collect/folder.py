"""The results folder, handled so that nothing planted in it is followed.

The folder is opened once per process, before any agent runs, and every later operation is relative to that
open directory (`dir_fd`) with no-follow semantics: a symlink an agent leaves in place of `<out>/<id>`,
`<out>/logs/<id>` or the lock file is removed or refused, never followed, and the lock file is never truncated.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import signal
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..safefiles import DIRECTORY_FLAGS, open_regular, write_atomically

LOCK = ".lock"
LOCK_TIMEOUT_SECONDS = 120.0
TERMINATING = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


class FolderError(Exception):
    """The results folder cannot be used safely; the message names the path and what to do."""


def plain_name(name: object) -> bool:
    """A file name with no folder part: what `answer_or_path` and a filed result must be."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\0" not in name


class ResultsFolder:
    """One results folder, opened without following a symlink in its place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
        try:
            self.fd = os.open(path, DIRECTORY_FLAGS)
        except OSError as error:
            raise FolderError(f"the results folder {path} cannot be opened as a plain folder ({error.strerror}); "
                              "if it is a symlink, point --spider2-out at the real folder") from None

    def close(self) -> None:
        os.close(self.fd)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's exclusive lock (processes file results concurrently); give up after a while.

        While it is held, SIGTERM, SIGINT and SIGHUP wait: what is written under the lock (a result moved into
        place, its metadata line, summary.json) is written whole or not at all, whatever ends the process but
        SIGKILL (a new run reconciles what SIGKILL leaves behind)."""
        with holding_lock(self.fd, LOCK, self.path), termination_deferred():
            yield

    def read_text(self, name: str, subfolder: tuple[str, ...] = ()) -> str | None:
        """A regular file's text, or None when it is absent or anything but a regular file."""
        with self.subfolder(subfolder, create=False) as fd:
            if fd is None:
                return None
            file = open_regular(name, fd)
            if file is None:
                return None
            with file:
                return file.read().decode("utf-8", errors="replace")

    def write_text(self, name: str, text: str, subfolder: tuple[str, ...] = (), *, durable: bool = True) -> None:
        """Replace a file atomically: readers see the old or the new file, never half of one. `durable=False`
        skips the fsync, for files that are rebuilt from others (report.html from summary.json)."""
        with self.subfolder(subfolder, create=True) as fd:
            assert fd is not None
            write_atomically(fd, name, text.encode("utf-8"), durable=durable)

    @contextmanager
    def subfolder(self, names: tuple[str, ...], *, create: bool) -> Iterator[int | None]:
        """An open descriptor of `<out>/<names...>`; a symlink or file in the way is replaced when creating."""
        fds = [self.fd]
        try:
            for name in names:
                fd = open_child_folder(fds[-1], name, create=create)
                if fd is None:
                    yield None
                    return
                fds.append(fd)
            yield fds[-1]
        finally:
            for fd in fds[1:]:
                os.close(fd)

    def fresh_subfolder(self, names: tuple[str, ...]) -> None:
        """Make `<out>/<names...>` an empty real folder, whatever was there (nothing in it is followed)."""
        with self.subfolder(names[:-1], create=True) as parent:
            assert parent is not None
            remove_entry(parent, names[-1])
            os.mkdir(names[-1], 0o755, dir_fd=parent)

    def remove(self, names: tuple[str, ...]) -> None:
        """Delete `<out>/<names...>` (a file or a whole folder) without following anything inside it."""
        with self.subfolder(names[:-1], create=False) as parent:
            if parent is not None:
                remove_entry(parent, names[-1])

    def entries(self) -> list[str]:
        return sorted(os.listdir(self.fd))


def open_child_folder(parent: int, name: str, *, create: bool) -> int | None:
    """The child folder opened without following a link; with `create`, made (or a link or file in its place
    replaced by it) first. Several processes may make the same folder at once (xdist workers)."""
    for _ in range(3):
        try:
            return os.open(name, DIRECTORY_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                return None
        except OSError as error:
            if error.errno not in (errno.ELOOP, errno.ENOTDIR) or not create:
                return None
            remove_entry(parent, name)
        try:
            os.mkdir(name, 0o755, dir_fd=parent)
        except FileExistsError:
            continue  # another process made it meanwhile
    raise FolderError(f"the folder {name} of the results folder keeps being replaced; end the process doing it")


def remove_entry(parent: int, name: str) -> None:
    """Unlink a file or symlink, or delete a folder tree, by descriptor; never follows a symlink."""
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(name, dir_fd=parent)
        return
    fd = os.open(name, DIRECTORY_FLAGS, dir_fd=parent)
    try:
        for child in os.listdir(fd):
            remove_entry(fd, child)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent)


@contextmanager
def termination_deferred() -> Iterator[None]:
    """Hold back the signals that end a process for the duration; those that arrived meanwhile act when it ends."""
    if threading.current_thread() is not threading.main_thread():
        with signals_blocked():
            yield
        return
    # A signal mask is per thread: an xdist worker's execnet thread would take a SIGTERM the main thread blocks
    # and die mid-filing. Handlers always run in the main thread, so catching the signals there holds for all.
    arrived: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, frame: arrived.append(number)) for sig in TERMINATING}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        for number in dict.fromkeys(arrived):
            signal.raise_signal(number)


@contextmanager
def signals_blocked() -> Iterator[None]:
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, TERMINATING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def holding_lock(folder: int, name: str, where: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the exclusive lock of the file `name` in an open folder; give up after `timeout` seconds."""
    fd = open_lock_file(folder, name)
    try:
        wait_for_lock(fd, where / name, timeout)
        yield
    finally:
        os.close(fd)


@contextmanager
def locked_folder(path: Path, name: str, timeout: float | None = None) -> Iterator[None]:
    """holding_lock for a folder given by its path (opened without following a symlink in its place)."""
    folder = os.open(path, DIRECTORY_FLAGS)
    try:
        with holding_lock(folder, name, path, timeout):
            yield
    finally:
        os.close(folder)


def open_lock_file(folder: int, name: str = LOCK) -> int:
    """The lock file, opened without truncating it; anything but a regular file in its place is replaced."""
    for _ in range(2):
        try:
            fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600,
                         dir_fd=folder)
        except OSError as error:
            if error.errno != errno.ELOOP:
                raise
        else:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                return fd
            os.close(fd)
        remove_entry(folder, name)
    raise FolderError(f"the lock file {name} keeps being replaced; end the process doing it")


def wait_for_lock(fd: int, where: Path, timeout: float | None = None) -> None:
    timeout = LOCK_TIMEOUT_SECONDS if timeout is None else timeout
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise FolderError(
                    f"{where} has been locked by another process for {timeout:g} s; a process left running may hold "
                    "it: find it with `fuser` and end it"
                ) from None
            time.sleep(0.05)


def sha256_of(path: Path) -> str | None:
    """The sha256 of a regular file (not followed if it is a symlink), or None."""
    file = open_regular(path)
    if file is None:
        return None
    digest = hashlib.sha256()
    with file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
