"""The embedded demo suite: a small Spider2-DBT-shaped benchmark, built on first use and cached.

Its sources are package data under ``demo_suite/``:

- ``spider2-dbt.jsonl``, ``spider2_eval.jsonl``: the instructions and the evaluator entries, in Spider2's format.
- ``examples/<id>/``: each incomplete dbt project as an agent starts with it, minus its database.
- ``start_data/<db>/``: ``tables.sql`` (typed DDL) and one ``<table>.csv`` per raw table of the start database
  ``<db>.duckdb``; instances whose profile points at the same file share it, as Spider2's mrr001/mrr002 do.
- ``solutions/<id>/``: the reference solution (the missing models), by project-relative path.

``demo_root()`` turns them into a Spider2 root: start databases loaded from the CSV files, and gold databases
built by running real dbt on a copy of each example with its solution added.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .collect import profile_target
from .collect.folder import locked_folder
from .dbt import QUIET_DBT, dbt_command, dbt_executable
from .duckdb_files import checkpoint, sql_string
from .provenance import version_of
from .suite import read_jsonl

DEMO_SUITE = Path(__file__).parent / "demo_suite"
DBT_TIMEOUT_SECONDS = 600
# Another process may be building the same root: wait for it as long as its dbt builds may take.
BUILD_LOCK_SECONDS = 4 * DBT_TIMEOUT_SECONDS
OUTPUT_TAIL_LINES = 40
VERSIONED_DISTRIBUTIONS = ("dbt-core", "dbt-duckdb", "duckdb")


class DemoBuildError(RuntimeError):
    """Building the demo root failed for one instance; carries the tail of dbt's output."""

    def __init__(self, instance_id: str, reason: str, output: str = "") -> None:
        self.instance_id = instance_id
        self.reason = reason
        self.output = output
        message = f"demo instance {instance_id}: {reason}"
        if output.strip():
            tail = "\n".join(output.rstrip().splitlines()[-OUTPUT_TAIL_LINES:])
            message += f"\n--- last lines of dbt's output ---\n{tail}"
        super().__init__(message)

    def __reduce__(self) -> tuple[type[DemoBuildError], tuple[str, str, str]]:
        return (DemoBuildError, (self.instance_id, self.reason, self.output))


def demo_instance_ids() -> tuple[str, ...]:
    """The demo instance ids, in the order of the demo's spider2-dbt.jsonl."""
    return tuple(entry["instance_id"] for entry in read_jsonl(DEMO_SUITE / "spider2-dbt.jsonl"))


DEMO_INSTANCE_IDS = demo_instance_ids()


def solution_files(instance_id: str) -> dict[str, str]:
    """Project-relative path -> text of each file of the instance's reference solution; empty for a non-demo id."""
    if instance_id not in DEMO_INSTANCE_IDS:
        return {}
    folder = DEMO_SUITE / "solutions" / instance_id
    return {
        path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def write_solution(instance_id: str, project: Path) -> bool:
    """Write the instance's reference solution into a project; False when the id is not a demo instance."""
    files = solution_files(instance_id)
    for relative_path, text in files.items():
        target = project / relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return bool(files)


def default_cache_dir() -> Path:
    """``$SPIDER2_DEMO_CACHE``, else ``$XDG_CACHE_HOME/pytest-spider2dbt``, else ``~/.cache/pytest-spider2dbt``."""
    explicit = os.environ.get("SPIDER2_DEMO_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pytest-spider2dbt"


def demo_suite_key() -> str:
    """Name of the cached root: changes with any demo source, this builder, or the dbt/DuckDB versions."""
    digest = hashlib.sha256()
    for path in sorted(DEMO_SUITE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(DEMO_SUITE).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    digest.update(Path(__file__).read_bytes() + b"\0")
    for name in VERSIONED_DISTRIBUTIONS:
        digest.update(f"{name}=={version_of(name)}\n".encode())
    return f"demo-{digest.hexdigest()[:16]}"


def demo_root(cache_dir: Path | None = None, announce: Callable[[str], None] = lambda text: None) -> Path:
    """The Spider2-shaped root of the demo suite (holding ``spider2-dbt/``), built once per cache key;
    `announce` hears what a first build is doing (it takes dbt about half a minute)."""
    cache_dir = Path(cache_dir or default_cache_dir()).absolute()
    root = cache_dir / demo_suite_key()
    if root.is_dir():
        return root
    cache_dir.mkdir(parents=True, exist_ok=True)
    with locked_folder(cache_dir, f"{root.name}.lock", timeout=BUILD_LOCK_SECONDS):
        if not root.is_dir():
            announce(f"spider2-dbt: building the embedded demo suite with dbt into {root} (first use only; "
                     "about half a minute)")
            _remove_abandoned_builds(cache_dir, root.name)
            staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(root.name), dir=cache_dir))
            try:
                _build_root(staging)
                os.replace(staging, root)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    return root


def _staging_prefix(key: str) -> str:
    return f".{key}.building-"


def _remove_abandoned_builds(cache_dir: Path, key: str) -> None:
    # Only called under the lock, so any staging folder of this key was left by a killed builder.
    for leftover in cache_dir.glob(f"{_staging_prefix(key)}*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _build_root(root: Path) -> None:
    examples_dir = root / "spider2-dbt" / "examples"
    gold_dir = root / "spider2-dbt" / "evaluation_suite" / "gold"
    examples_dir.mkdir(parents=True)
    gold_dir.mkdir(parents=True)
    shutil.copy2(DEMO_SUITE / "spider2-dbt.jsonl", examples_dir / "spider2-dbt.jsonl")
    shutil.copy2(DEMO_SUITE / "spider2_eval.jsonl", gold_dir / "spider2_eval.jsonl")
    for instance_id in DEMO_INSTANCE_IDS:
        _write_example(instance_id, examples_dir / instance_id)
    workers = max(1, min(len(DEMO_INSTANCE_IDS), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        builds = [
            pool.submit(_build_gold, instance_id, examples_dir / instance_id, gold_dir / instance_id)
            for instance_id in DEMO_INSTANCE_IDS
        ]
        for build in builds:
            build.result()
    _strip_dbt_leftovers(root)


def _write_example(instance_id: str, project: Path) -> None:
    shutil.copytree(DEMO_SUITE / "examples" / instance_id, project)
    database = project / profile_database_path(project)
    import duckdb

    try:
        _load_start_database(database, DEMO_SUITE / "start_data" / database.stem)
    except (duckdb.Error, OSError) as error:
        raise DemoBuildError(instance_id, f"loading the start database {database.name} failed: {error}") from error


def profile_database_path(project: Path) -> str:
    """The DuckDB ``path`` of the project's default target in its own profiles.yml (e.g. ``./clinic.duckdb``)."""
    path = profile_target(project)
    if path is None:
        raise DemoBuildError(project.name, f"{project / 'profiles.yml'} names no DuckDB path")
    return path


def _load_start_database(database: Path, data_dir: Path) -> None:
    import duckdb

    with duckdb.connect(str(database)) as connection:
        connection.execute((data_dir / "tables.sql").read_text(encoding="utf-8"))
        for csv_file in sorted(data_dir.glob("*.csv")):
            connection.execute(f'COPY "{csv_file.stem}" FROM {sql_string(str(csv_file))} (HEADER true)')


def _gold_file_name(instance_id: str) -> str:
    entries = read_jsonl(DEMO_SUITE / "spider2_eval.jsonl")
    parameters = next(entry for entry in entries if entry["instance_id"] == instance_id)["evaluation"]["parameters"]
    return parameters["gold"]


def _build_gold(instance_id: str, example: Path, gold_instance_dir: Path) -> None:
    with tempfile.TemporaryDirectory(prefix=f"spider2-demo-{instance_id}-") as scratch:
        project = Path(scratch) / instance_id
        shutil.copytree(example, project)
        write_solution(instance_id, project)
        _run_dbt_build(instance_id, project)
        database = project / profile_database_path(project)
        checkpoint(database)
        gold_instance_dir.mkdir(parents=True)
        shutil.copy2(database, gold_instance_dir / _gold_file_name(instance_id))


def _run_dbt_build(instance_id: str, project: Path) -> None:
    dbt = dbt_executable()
    if dbt is None:
        raise DemoBuildError(instance_id, f"no dbt executable next to {sys.executable} nor on PATH")
    command = dbt_command("build", project=str(project))
    try:
        # cwd matters: the profile's database path is relative to the working directory.
        completed = subprocess.run(
            command, cwd=project, env={**os.environ, **QUIET_DBT}, capture_output=True, text=True,
            timeout=DBT_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as timeout:
        raise DemoBuildError(
            instance_id, f"dbt build timed out after {DBT_TIMEOUT_SECONDS}s", _as_text(timeout.stdout)
        ) from timeout
    if completed.returncode != 0:
        raise DemoBuildError(
            instance_id, f"dbt build exited with code {completed.returncode}", completed.stdout + completed.stderr
        )


def _as_text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def _strip_dbt_leftovers(root: Path) -> None:
    for project in (root / "spider2-dbt" / "examples").iterdir():
        if not project.is_dir():
            continue
        for folder in ("target", "logs"):
            shutil.rmtree(project / folder, ignore_errors=True)
    for wal in root.rglob("*.duckdb.wal"):
        wal.unlink()
