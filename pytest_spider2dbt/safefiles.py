"""Reading and writing files an agent could have touched: never through a symlink, never blocking on a FIFO,
never more than asked for. Every stage that opens such a file (reports, logs, results) goes through here."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO

READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_regular(name: str | Path, dir_fd: int | None = None) -> BinaryIO | None:
    """The file opened for reading when it is a regular file (not a symlink, FIFO, device or folder), else None."""
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return os.fdopen(fd, "rb")


def read_regular(name: str | Path, limit: int, dir_fd: int | None = None) -> bytes | None:
    """At most `limit` bytes of a regular file, or None when it is absent or anything but a regular file."""
    file = open_regular(name, dir_fd)
    if file is None:
        return None
    with file:
        return file.read(limit)


def write_atomically(folder: int, name: str, data: bytes, *, durable: bool = True) -> None:
    """Write to a fresh sibling, fsync (unless not durable), then rename over `name` (a symlink there is
    replaced, not followed)."""
    temporary = f".{name}.{secrets.token_hex(6)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=folder)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.rename(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=folder)
        except FileNotFoundError:
            pass
        raise


def write_file_atomically(path: Path, data: bytes) -> None:
    """write_atomically for a path whose folder is opened without following a symlink in its place."""
    folder = os.open(path.parent, DIRECTORY_FLAGS)
    try:
        write_atomically(folder, path.name, data)
    finally:
        os.close(folder)
