"""Stage 2: a private copy of an instance's start project, outside the Spider2 tree."""

from __future__ import annotations

import shutil
from pathlib import Path

from .suite import Instance

# dbt's own output at the project's top level is never part of a task's start state.
LEFT_BEHIND = {"target", "logs", ".user.yml"}


class WorkspaceError(Exception):
    pass


def make_workspace(instance: Instance, base: Path) -> Path:
    """Copy `examples/<id>/` to `<base>/<id>/` and return that project folder."""
    if is_within(base, instance.suite_root):
        raise WorkspaceError(
            f"refusing to create the workspace of {instance.instance_id} at {base}: it lies inside the Spider2 "
            f"tree {instance.suite_root}; use a --basetemp outside it"
        )
    project_dir = base / instance.instance_id
    top = str(instance.example_dir)
    shutil.copytree(
        instance.example_dir, project_dir, symlinks=False,
        ignore=lambda folder, names: LEFT_BEHIND & set(names) if folder == top else set(),
    )
    return project_dir


def is_within(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())
