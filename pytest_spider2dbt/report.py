"""Stage 6: categories, per-instance records, the terminal summary and summary.json."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
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
    "skipped",
)
OUTCOMES = ("passed", "failed", "error", "xfailed", "xpassed", "skipped")


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
    gold_present: bool = True
    round: int = 1
    hygiene: dict[str, str] | None = None

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
    if match_category in ("passed", "gold_missing", "config_error") or outcome is None:
        return match_category
    if outcome.timed_out:
        return "agent_timeout"
    if outcome.failed:
        return "agent_error"
    return match_category


@dataclass
class Summary:
    records: list[Record]
    rounds: int = 1

    @property
    def passed(self) -> int:
        return sum(r.score for r in self.records)

    @property
    def strict_passed(self) -> int:
        return sum(r.strict_score for r in self.records)

    @property
    def evaluable(self) -> int:
        return sum(r.gold_present for r in self.records)

    def counts(self) -> Counter[str]:
        return Counter(r.category for r in self.records)

    def outcomes(self) -> Counter[str]:
        return Counter(r.outcome for r in self.records)

    def official_submission_score(self) -> tuple[int, int] | None:
        """Passes over instances in the submission, as evaluate.py counts them; None when no submission was judged."""
        if all(r.in_submission is None for r in self.records):
            return None
        submitted = [r for r in self.records if r.in_submission]
        return sum(r.score for r in submitted), len(submitted)

    def lines(self) -> list[str]:
        total = len(self.records)
        lines = [f"Spider2-DBT score: {self.passed}/{total} ({percent(self.passed, total)})"]
        official = self.official_submission_score()
        if official is not None:
            lines.append(f"  official (evaluate.py, instances in the submission): {fraction(*official)}")
        lines += [
            f"  passed / evaluable (gold present): {fraction(self.passed, self.evaluable)}",
            f"  strict (whole rows): {fraction(self.strict_passed, total)}",
            "  outcomes: " + ", ".join(f"{self.outcomes()[o]} {o}" for o in OUTCOMES if self.outcomes()[o]),
        ]
        lines += self.cost_lines() + self.round_lines()
        counts = self.counts()
        lines += [f"  {category:<20} {counts[category]}" for category in CATEGORIES if counts[category]]
        return lines

    def cost_lines(self) -> list[str]:
        costs = [r.cost_usd for r in self.records if r.cost_usd is not None]
        if not costs:
            return []
        turns = sum(r.turns or 0 for r in self.records)
        return [f"  agent cost: ${sum(costs):.2f} over {len(costs)} runs, {turns} turns"]

    def per_round_scores(self) -> list[float]:
        by_round: dict[int, list[int]] = defaultdict(list)
        for record in self.records:
            by_round[record.round].append(record.score)
        return [sum(scores) / len(scores) for _, scores in sorted(by_round.items())]

    def passes_per_instance(self) -> dict[str, int]:
        passes: dict[str, int] = defaultdict(int)
        for record in self.records:
            passes[record.instance_id] += record.score
        return dict(sorted(passes.items()))

    def round_lines(self) -> list[str]:
        if self.rounds < 2:
            return []
        scores = self.per_round_scores()
        mean, error = mean_and_standard_error(scores)
        passes = self.passes_per_instance()
        at_least_once = sum(1 for n in passes.values() if n)
        lines = [
            f"  rounds: {self.rounds}; mean score {100 * mean:.1f}% ± {100 * error:.1f}% (standard error over rounds)",
            f"  pass@{self.rounds}: {fraction(at_least_once, len(passes))}",
            "  passes per instance:",
        ]
        width = max(map(len, passes), default=0)
        return lines + [f"    {i:<{width}}  {n}/{self.rounds}" for i, n in passes.items()]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "passed": self.passed,
            "total": len(self.records),
            "evaluable": self.evaluable,
            "score": ratio(self.passed, len(self.records)),
            "score_evaluable": ratio(self.passed, self.evaluable),
            "strict_passed": self.strict_passed,
            "categories": {c: self.counts()[c] for c in CATEGORIES},
            "outcomes": {o: self.outcomes()[o] for o in OUTCOMES},
            "cost_usd": sum(r.cost_usd or 0.0 for r in self.records),
            "instances": [r.to_dict() for r in sorted(self.records, key=lambda r: (r.instance_id, r.round))],
        }
        official = self.official_submission_score()
        if official is not None:
            data["official_submission"] = {"passed": official[0], "total": official[1]}
        if self.rounds > 1:
            mean, error = mean_and_standard_error(self.per_round_scores())
            data["rounds"] = {
                "count": self.rounds,
                "scores": self.per_round_scores(),
                "mean": mean,
                "standard_error": error,
                "passes_per_instance": self.passes_per_instance(),
            }
        return data

    def write(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "summary.json"
        write_atomically(path, json.dumps(self.to_dict(), indent=2) + "\n")
        return path


def mean_and_standard_error(values: list[float]) -> tuple[float, float]:
    """Mean and its standard error (sample standard deviation over the square root of n)."""
    if not values:
        return 0.0, 0.0
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(variance / len(values))


def fraction(part: int, whole: int) -> str:
    return f"{part}/{whole} ({percent(part, whole)})"


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def percent(part: int, whole: int) -> str:
    return f"{100 * ratio(part, whole):.1f}%"
