"""Calling dbt the way every part of the harness does (agents, the demo builder)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

# dbt phones home on every run (with no network that only costs time) and colours logs meant for files.
QUIET_DBT = {"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}


def dbt_executable() -> str | None:
    """The dbt installed beside this Python (its virtualenv), else the one on PATH, else None."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.is_file() else shutil.which("dbt")


def dbt_command(*arguments: str, project: str = ".") -> list[str]:
    """`dbt <arguments>` on a project whose profiles.yml sits in the project folder itself."""
    return [dbt_executable() or "dbt", *arguments, "--profiles-dir", project, "--project-dir", project]
