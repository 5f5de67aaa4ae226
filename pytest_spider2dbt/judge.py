"""The one call of the judge on an instance, shared by the run, judge-only mode and preflight."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .suite import Instance

if TYPE_CHECKING:
    from .match import MatchReport

MISSING_RESULT = "<no result database>"


def judge_instance(
    instance: Instance, result: Path | None, *, timeout: float = 300.0, memory_mb: int = 4096
) -> MatchReport:
    """duckdb_match with the instance's evaluator entry; a missing result is judged as the official code would."""
    from .match import JudgeLimits, duckdb_match  # pandas loads only when something is judged

    checks = instance.checks
    assert checks is not None, f"{instance.instance_id} has no evaluator entry"
    return duckdb_match(
        str(result) if result else str(instance.example_dir / MISSING_RESULT),
        str(instance.gold_path),
        checks.condition_tabs,
        checks.condition_cols,
        checks.ignore_orders,
        instance_id=instance.instance_id,
        limits=JudgeLimits(timeout_seconds=timeout, memory_mb=memory_mb),
    )
