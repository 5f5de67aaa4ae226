"""The official submission layout: `<out>/results_metadata.jsonl` and `<out>/<id>/<file>`, kept truthful.

`stage_result` copies a vetted result into the folder's staging area (its write-ahead log folded in), where it is
judged; `commit_result` moves it into place and lists it, under the folder's lock and together with the summary;
`forget_result` removes an instance that filed nothing this time, so the folder never shows a stale result.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .folder import FolderError, ResultsFolder, plain_name, remove_entry

METADATA = "results_metadata.jsonl"
STAGING = ".staging"
CHUNK = 1 << 20


class SubmissionError(Exception):
    """A submission folder cannot be judged at all; the message says why."""


@dataclass(frozen=True)
class StagedResult:
    """A settled copy of a result waiting in `<out>/.staging/<slot>/` to be committed."""

    slot: str
    name: str
    path: Path
    sha256: str


@dataclass(frozen=True)
class FiledResult:
    path: Path
    sha256: str


def read_metadata(folder: ResultsFolder) -> dict[str, dict[str, Any]]:
    """instance id -> entry of results_metadata.jsonl; lines that are not whole JSON objects are dropped."""
    entries: dict[str, dict[str, Any]] = {}
    for line in (folder.read_text(METADATA) or "").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("instance_id"), str):
            entries[entry["instance_id"]] = entry
    return entries


def write_metadata(folder: ResultsFolder, entries: dict[str, dict[str, Any]]) -> None:
    folder.write_text(METADATA, "".join(json.dumps(entries[key]) + "\n" for key in sorted(entries)))


def stage_result(folder: ResultsFolder, instance_id: str, source: Path, max_bytes: int) -> StagedResult:
    """Copy `source` (and its WAL) into the folder's staging area without following links, and settle it.

    Nothing in the official layout changes until `commit_result`, so a crash here leaves the folder as it was.
    """
    name = source.name
    if not plain_name(name):
        raise FolderError(f"{instance_id}: the result file name {name!r} is not a plain file name")
    slot = f"{instance_id}-{os.getpid()}-{secrets.token_hex(4)}"
    with folder.subfolder((STAGING,), create=True) as staging_fd:
        assert staging_fd is not None
        os.mkdir(slot, 0o700, dir_fd=staging_fd)
    staged = StagedResult(slot, name, folder.path / STAGING / slot / name, "")
    try:
        with folder.subfolder((STAGING, slot), create=False) as slot_fd:
            assert slot_fd is not None
            copy_without_following(source, slot_fd, name, max_bytes)
            wal = source.with_name(name + ".wal")
            if os.path.lexists(wal):
                copy_without_following(wal, slot_fd, name + ".wal", max_bytes)
                settle(f"/proc/self/fd/{slot_fd}/{name}")
            return replace(staged, sha256=sha256_in(slot_fd, name))
    except BaseException:
        discard_staged(folder, staged)
        raise


def commit_result(folder: ResultsFolder, instance_id: str, staged: StagedResult) -> FiledResult:
    """Move a staged result to `<out>/<id>/<name>` and list it in the metadata. The caller holds the lock."""
    with folder.subfolder((instance_id,), create=True) as instance_fd, \
            folder.subfolder((STAGING, staged.slot), create=False) as slot_fd:
        assert instance_fd is not None and slot_fd is not None
        for other in os.listdir(instance_fd):
            remove_entry(instance_fd, other)
        os.rename(staged.name, staged.name, src_dir_fd=slot_fd, dst_dir_fd=instance_fd)
    discard_staged(folder, staged)
    entries = read_metadata(folder)
    entries[instance_id] = {"instance_id": instance_id, "answer_type": "file", "answer_or_path": staged.name}
    write_metadata(folder, entries)
    return FiledResult(folder.path / instance_id / staged.name, staged.sha256)


def discard_staged(folder: ResultsFolder, staged: StagedResult) -> None:
    folder.remove((STAGING, staged.slot))


def sha256_in(folder_fd: int, name: str) -> str:
    digest = hashlib.sha256()
    with os.fdopen(os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder_fd), "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def copy_without_following(source: Path, folder_fd: int, name: str, max_bytes: int) -> None:
    """Copy a regular file (never a symlink, and never blocking on a FIFO left in its place) into a folder by
    descriptor, refusing more than max_bytes."""
    source_fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(source_fd, "rb") as reader:
        info = os.fstat(reader.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            raise FolderError(f"{source} is not a regular file of at most {max_bytes / 2**20:,.0f} MB")
        target_fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                            dir_fd=folder_fd)
        with os.fdopen(target_fd, "wb") as writer:
            copied = 0
            for chunk in iter(lambda: reader.read(CHUNK), b""):
                copied += len(chunk)
                if copied > max_bytes:
                    raise FolderError(f"{source} grew past {max_bytes / 2**20:,.0f} MB while it was copied")
                writer.write(chunk)


def settle(database: str) -> None:
    """Fold the copy's write-ahead log into it; a damaged file is filed as it is and the judge says what is wrong."""
    import duckdb  # imported on use: the plugin loads in every pytest run and must start fast

    try:
        with duckdb.connect(database, config={"enable_external_access": False}) as connection:
            connection.execute("CHECKPOINT")
    except duckdb.Error:
        pass


def forget_result(folder: ResultsFolder, instance_id: str) -> None:
    """This run filed nothing for the instance: drop its metadata line and its folder. The caller holds the lock."""
    entries = read_metadata(folder)
    if entries.pop(instance_id, None) is not None:
        write_metadata(folder, entries)
    folder.remove((instance_id,))


def filed_result(folder: ResultsFolder, instance_id: str) -> Path | None:
    """The result already filed for an instance, if its metadata names a plain file that is there."""
    entry = read_metadata(folder).get(instance_id)
    name = entry.get("answer_or_path") if entry else None
    if not plain_name(name):
        return None
    with folder.subfolder((instance_id,), create=False) as instance_fd:
        if instance_fd is None:
            return None
        try:
            info = os.stat(str(name), dir_fd=instance_fd, follow_symlinks=False)
        except OSError:
            return None
    return folder.path / instance_id / str(name) if stat.S_ISREG(info.st_mode) else None


@dataclass(frozen=True)
class Submission:
    """An existing submission folder: the result of each listed instance, or why it cannot be judged."""

    folder: Path
    results: dict[str, Path]
    refused: dict[str, str]

    def __contains__(self, instance_id: str) -> bool:
        return instance_id in self.results or instance_id in self.refused

    def __len__(self) -> int:
        return len(self.results) + len(self.refused)


def read_submission(path: Path) -> Submission:
    """Map instance id to result file; an `answer_or_path` that is not a plain file name is refused."""
    if not (path / METADATA).is_file():
        raise SubmissionError(
            f"{path} is not a Spider2 submission folder: {path / METADATA} is missing "
            "(it lists one {\"instance_id\", \"answer_type\": \"file\", \"answer_or_path\"} object a line)"
        )
    try:
        folder = ResultsFolder(path)
    except FolderError as error:
        raise SubmissionError(str(error)) from None
    try:
        entries = read_metadata(folder)
    finally:
        folder.close()
    results, refused = {}, {}
    for instance_id, entry in entries.items():
        name = entry.get("answer_or_path")
        if plain_name(name):
            results[instance_id] = path / instance_id / str(name)
        else:
            refused[instance_id] = (f"answer_or_path {name!r} is not a plain file name inside {path / instance_id}; "
                                    "a submission may only name its own files")
    return Submission(path, results, refused)
