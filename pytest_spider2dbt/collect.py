"""Stage 4: find the database the agent built, settle its WAL and file it in the official submission layout."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

METADATA = "results_metadata.jsonl"


def target_db_path(project_dir: Path) -> Path | None:
    """The DuckDB file the project's `profiles.yml` target writes to, if it names one plainly."""
    try:
        project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
        profiles = yaml.safe_load((project_dir / "profiles.yml").read_text(encoding="utf-8")) or {}
        profile = profiles[project["profile"]]
        output = profile["outputs"][profile.get("target", "dev")]
        path = str(output["path"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    if "{{" in path or path == ":memory:":
        return None
    return (project_dir / path).resolve()


def find_result_db(project_dir: Path) -> Path | None:
    """The profiles.yml target when it exists, else the largest `*.duckdb` in the project."""
    target = target_db_path(project_dir)
    if target is not None and target.is_file():
        return target
    candidates = [p for p in project_dir.rglob("*.duckdb") if p.is_file() and "dbt_packages" not in p.parts]
    return max(candidates, key=lambda p: p.stat().st_size, default=None)


def settled_copy(db_path: Path, destination: Path) -> None:
    """Copy a DuckDB file and fold any write-ahead log into the copy, leaving the original untouched."""
    import duckdb  # imported on use: the plugin loads in every pytest run and must start fast

    shutil.copyfile(db_path, destination)
    wal = db_path.with_name(db_path.name + ".wal")
    if wal.is_file():
        shutil.copyfile(wal, destination.with_name(destination.name + ".wal"))
        try:
            with duckdb.connect(str(destination)) as connection:
                connection.execute("CHECKPOINT")
        except duckdb.Error:
            pass  # a damaged file is filed as it is; the judge names what is wrong with it


def file_result(out_dir: Path, instance_id: str, db_path: Path) -> Path:
    """Place the settled database at `<out>/<id>/<file>` atomically and record it in the metadata."""
    instance_dir = out_dir / instance_id
    instance_dir.mkdir(parents=True, exist_ok=True)
    final = instance_dir / db_path.name
    with tempfile.TemporaryDirectory(dir=instance_dir, prefix=".incoming-") as scratch:
        staged = Path(scratch) / db_path.name
        settled_copy(db_path, staged)
        os.replace(staged, final)
    record_result(out_dir, {"instance_id": instance_id, "answer_type": "file", "answer_or_path": db_path.name})
    return final


def record_result(out_dir: Path, entry: dict[str, Any]) -> None:
    """Add or replace one instance's line in results_metadata.jsonl; safe across processes."""
    with locked(out_dir):
        entries = {e["instance_id"]: e for e in read_metadata(out_dir)}
        entries[entry["instance_id"]] = entry
        write_atomically(out_dir / METADATA, "".join(json.dumps(e) + "\n" for e in entries.values()))


def read_metadata(out_dir: Path) -> list[dict[str, Any]]:
    """The entries of results_metadata.jsonl; lines that are not whole JSON objects are dropped."""
    path = out_dir / METADATA
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("instance_id"), str):
            entries.append(entry)
    return entries


def filed_result(out_dir: Path, instance_id: str) -> Path | None:
    """The result already filed for an instance in a results folder, if its file is there."""
    for entry in read_metadata(out_dir):
        if entry["instance_id"] == instance_id:
            path = out_dir / instance_id / str(entry.get("answer_or_path", ""))
            return path if path.is_file() else None
    return None


class SubmissionError(Exception):
    pass


def read_submission(results_dir: Path) -> dict[str, Path]:
    """Map instance id to result file for an existing submission folder in the official layout."""
    if not (results_dir / METADATA).is_file():
        raise SubmissionError(
            f"{results_dir} is not a Spider2 submission folder: {results_dir / METADATA} is missing "
            "(it lists one {\"instance_id\", \"answer_type\": \"file\", \"answer_or_path\"} object a line)"
        )
    return {
        entry["instance_id"]: results_dir / entry["instance_id"] / str(entry.get("answer_or_path", ""))
        for entry in read_metadata(results_dir)
    }


def write_atomically(path: Path, text: str) -> None:
    """Write to a sibling temp file, fsync, then rename: readers see the old or the new file, never half."""
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False, encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(f.name, path)


@contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the results folder (xdist workers file results concurrently)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
