"""What produced a score: versions that decide a verdict or a build, the suite's identity, agent and isolation."""

from __future__ import annotations

import functools
import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

DISTRIBUTIONS = ("pytest-spider2dbt", "pandas", "numpy", "duckdb", "dbt-core", "dbt-duckdb", "pytest")


@functools.cache
def version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def git_commit(folder: Path) -> str | None:
    """The commit checked out in the git work tree holding `folder`, with `+dirty` if files changed."""
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


def collect_provenance(
    *, suite_root: Path, instruction_file: Path, evaluation_file: Path, agent: str, isolation: str, clock: str,
    verdict: str, command_line: list[str],
) -> dict[str, Any]:
    return {
        "versions": {"python": platform.python_version(), **{name: version_of(name) for name in DISTRIBUTIONS}},
        "suite": str(suite_root),
        "spider2_commit": git_commit(suite_root),
        "instructions_sha256": file_sha256(instruction_file),
        "evaluation_sha256": file_sha256(evaluation_file),
        "agent": agent,
        "isolation": isolation,
        "clock": clock,
        "verdict": verdict,
        "command_line": command_line,
    }


def header_lines(provenance: dict[str, Any]) -> list[str]:
    versions = provenance["versions"]
    shown = ", ".join(f"{name} {versions[name]}" for name in ("pandas", "duckdb", "dbt-core", "dbt-duckdb"))
    commit = provenance.get("spider2_commit") or "not a git checkout"
    return [
        f"spider2-dbt versions: plugin {versions['pytest-spider2dbt']}, python {versions['python']}, {shown}",
        f"spider2-dbt suite commit: {commit}; spider2_eval.jsonl sha256 {str(provenance['evaluation_sha256'])[:12]}",
    ]
