"""The environment variables an agent gets: the caller's, minus every trace of the gold, plus the task's."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..dbt import QUIET_DBT

# Plugin settings and pytest's own variables name the Spider2 tree, the results folder or the test run.
HIDDEN_PREFIXES = ("SPIDER2_", "PYTEST_")


def agent_path(current: str) -> str:
    """PATH with this Python's bin folder first, so that the dbt of pytest's virtualenv is the one agents find."""
    mine = str(Path(sys.executable).parent)
    return os.pathsep.join([mine, *(p for p in current.split(os.pathsep) if p and p != mine)])


def without_entries_in(search_path: str, secrets: Sequence[str]) -> str:
    """A PATH-like value without the entries that name a hidden path."""
    return os.pathsep.join(p for p in search_path.split(os.pathsep) if p and not any(s in p for s in secrets))


def agent_environment(
    base: Mapping[str, str],
    *,
    instance_id: str,
    instruction: str,
    project_dir: Path,
    db_path: Path,
    report_path: Path,
    hidden: Sequence[Path],
    python_path: Sequence[Path] = (),
) -> dict[str, str]:
    """`base` without variables that lead to a hidden path (the Spider2 tree, results, pytest's temp base), plus
    the task variables. `python_path` (for a `python:` agent) goes first on PYTHONPATH."""
    secrets = [str(path) for path in hidden]
    env = {
        name: value
        for name, value in base.items()
        if not name.startswith(HIDDEN_PREFIXES) and not any(secret in value for secret in secrets)
    }
    env.update(QUIET_DBT)
    env["PATH"] = agent_path(without_entries_in(base.get("PATH", os.defpath), secrets))
    if python_path:
        inherited = without_entries_in(base.get("PYTHONPATH", ""), secrets)
        env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in python_path), *filter(None, [inherited])])
    env.update(
        PWD=str(project_dir),
        SPIDER2_INSTANCE_ID=instance_id,
        SPIDER2_INSTRUCTION=instruction,
        SPIDER2_PROJECT_DIR=str(project_dir),
        SPIDER2_DB_PATH=str(db_path),
        SPIDER2_AGENT_REPORT=str(report_path),
    )
    return env
