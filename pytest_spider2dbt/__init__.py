"""pytest-spider2dbt: every Spider2-DBT instance as a pytest test, judged as the official evaluator does."""

from __future__ import annotations

from .agents import AgentContext, AgentOutcome
from .match import MatchReport, duckdb_match
from .suite import Instance

__all__ = ["AgentContext", "AgentOutcome", "Instance", "MatchReport", "duckdb_match"]
