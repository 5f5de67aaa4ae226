"""Find the database an agent built, trusting nothing the agent left in its workspace."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..safefiles import read_regular

DEFAULT_MAX_RESULT_MB = 4096
PROJECT_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class Refused:
    """The workspace holds a result that must not be filed; `reason` says what and why."""

    reason: str


def profile_target(project_dir: Path) -> str | None:
    """The `path` of the DuckDB output the project's `profiles.yml` target writes to, as written there.

    The agent may have left anything under those names: a FIFO (opening it would block), a symlink to /dev/zero or
    a huge file (reading it would never end): only the first PROJECT_FILE_BYTES of a regular file are read."""
    try:
        project = yaml.safe_load(read_regular(project_dir / "dbt_project.yml", PROJECT_FILE_BYTES) or b"") or {}
        profiles = yaml.safe_load(read_regular(project_dir / "profiles.yml", PROJECT_FILE_BYTES) or b"") or {}
        profile = profiles[project["profile"]]
        output = profile["outputs"][profile.get("target", "dev")]
        path = str(output["path"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return None
    return None if "{{" in path or path == ":memory:" else path


def target_db_path(project_dir: Path) -> Path | None:
    """Where the profiles.yml target's database is, as an absolute path (it may lie outside the project)."""
    path = profile_target(project_dir)
    return None if path is None else Path(os.path.normpath(project_dir / Path(path).expanduser()))


def locate_result(project_dir: Path, max_bytes: int) -> Path | Refused | None:
    """The profiles.yml target when it exists, else the largest `*.duckdb` in the project; None when there is none.

    A target outside the project, a symlink, anything but a regular file, or a file over `max_bytes` is Refused.
    """
    target = target_db_path(project_dir)
    if target is not None:
        if not target.is_relative_to(os.path.normpath(project_dir)):
            return Refused(f"profiles.yml points the database at {target}, outside the workspace {project_dir}; "
                           "only a database inside the workspace is collected")
        if os.path.lexists(target):
            return vetted(target, project_dir, max_bytes)
    return largest_duckdb(project_dir, max_bytes)


def largest_duckdb(project_dir: Path, max_bytes: int) -> Path | Refused | None:
    candidates: list[Path] = []
    refused: list[Refused] = []
    for path in project_dir.rglob("*.duckdb"):
        if "dbt_packages" in path.relative_to(project_dir).parts:
            continue
        checked = vetted(path, project_dir, max_bytes)
        if isinstance(checked, Refused):
            refused.append(checked)
        else:
            candidates.append(checked)
    if candidates:
        return max(candidates, key=lambda p: p.stat().st_size)
    return refused[0] if refused else None


def vetted(path: Path, project_dir: Path, max_bytes: int) -> Path | Refused:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return Refused(f"{path} is a symlink (to {os.readlink(path)}); a result must be a regular file in the "
                       "workspace")
    if not stat.S_ISREG(info.st_mode):
        return Refused(f"{path} is not a regular file")
    if not within(Path(os.path.realpath(path)), project_dir):
        return Refused(f"{path} lies outside the workspace once its folders' symlinks are followed")
    if info.st_size > max_bytes:
        return Refused(f"{path} is {info.st_size / 2**20:,.0f} MB, over the {max_bytes / 2**20:,.0f} MB limit "
                       "(--spider2-max-result-mb)")
    return path


def within(path: Path, folder: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))
