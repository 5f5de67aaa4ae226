"""pytest-spider2dbt: every Spider2-DBT instance as a pytest test, judged as the official evaluator does."""

from __future__ import annotations

import importlib
from typing import Any

# Public names and their modules. They load on first use: pytest imports this package in every run (it is a
# pytest11 plugin), and the judge pulls in pandas, which ordinary test runs should not pay for.
EXPORTS = {
    "AgentContext": "agents",
    "AgentOutcome": "agents",
    "Instance": "suite",
    "JudgeLimits": "match",
    "MatchReport": "match",
    "duckdb_match": "match",
}
__all__ = list(EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{EXPORTS[name]}", __name__), name)
