"""Stage 6: categories, per-instance records, the terminal summary and summary.json."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .agents import AgentOutcome
from .collect import write_atomically

CATEGORIES = (
    "passed",
    "agent_timeout",
    "agent_error",
    "no_result_db",
    "table_missing",
    "row_count_mismatch",
    "value_mismatch",
    "gold_missing",
    "config_error",
)
# Categories that say nothing about the agent: the benchmark itself could not judge the instance.
NOT_EVALUABLE = ("gold_missing", "config_error")


@dataclass
class Record:
    """One instance's result, as it goes to JUnit properties, the summary and summary.json."""

    instance_id: str
    category: str
    score: int
    strict_score: int
    agent: str
    agent_seconds: float
    message: str = ""
    outcome: str = ""
    cost_usd: float | None = None
    turns: int | None = None
    in_submission: bool | None = None

    def junit_properties(self) -> list[tuple[str, Any]]:
        properties = [
            ("instance_id", self.instance_id),
            ("score", self.score),
            ("category", self.category),
            ("agent_seconds", f"{self.agent_seconds:.1f}"),
        ]
        properties += [(name, value) for name, value in (("cost_usd", self.cost_usd), ("turns", self.turns)) if value is not None]
        return properties

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def categorize(match_category: str, outcome: AgentOutcome | None) -> str:
    """The category of a judged instance: a failing agent explains a failure before the table diff does."""
    if match_category in ("passed", *NOT_EVALUABLE) or outcome is None:
        return match_category
    if outcome.timed_out:
        return "agent_timeout"
    if outcome.failed:
        return "agent_error"
    return match_category


@dataclass
class Summary:
    records: list[Record]

    @property
    def passed(self) -> int:
        return sum(r.score for r in self.records)

    @property
    def strict_passed(self) -> int:
        return sum(r.strict_score for r in self.records)

    @property
    def evaluable(self) -> int:
        return sum(r.category not in NOT_EVALUABLE for r in self.records)

    def counts(self) -> Counter[str]:
        return Counter(r.category for r in self.records)

    def lines(self) -> list[str]:
        total = len(self.records)
        counts = self.counts()
        lines = [
            f"Spider2-DBT score: {self.passed}/{total} ({percent(self.passed, total)})",
            f"  passed / evaluable (gold present): {self.passed}/{self.evaluable} ({percent(self.passed, self.evaluable)})",
            f"  strict (whole rows): {self.strict_passed}/{total} ({percent(self.strict_passed, total)})",
        ]
        submitted = [r for r in self.records if r.in_submission]
        if any(r.in_submission is not None for r in self.records):
            official = sum(r.score for r in submitted)
            lines.insert(
                1,
                f"  official (evaluate.py, instances in the submission): {official}/{len(submitted)} "
                f"({percent(official, len(submitted))})",
            )
        lines += [f"  {category:<20} {counts[category]}" for category in CATEGORIES if counts[category]]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "total": len(self.records),
            "evaluable": self.evaluable,
            "score": ratio(self.passed, len(self.records)),
            "score_evaluable": ratio(self.passed, self.evaluable),
            "strict_passed": self.strict_passed,
            "categories": {c: self.counts()[c] for c in CATEGORIES},
            "instances": [r.to_dict() for r in sorted(self.records, key=lambda r: r.instance_id)],
        }

    def write(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "summary.json"
        write_atomically(path, json.dumps(self.to_dict(), indent=2) + "\n")
        return path


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def percent(part: int, whole: int) -> str:
    return f"{100 * ratio(part, whole):.1f}%"
