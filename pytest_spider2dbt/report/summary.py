"""The numbers of a set of records (this run, or everything a results folder holds), as plain data."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..categories import Category
from .records import Record
from .stats import mean_and_standard_error, pass_at_k, wilson_interval

OUTCOMES = ("passed", "failed", "error", "xfailed", "xpassed", "skipped")
SLOWEST_SHOWN = 3


@dataclass(frozen=True)
class Summary:
    """Scores, categories, time and cost of `records`; `strict` says which verdict decides pass or fail."""

    records: tuple[Record, ...]
    strict: bool = False

    @property
    def total(self) -> int:
        return len(self.records)

    @property
    def passed(self) -> int:
        return sum(r.score for r in self.records)

    @property
    def strict_passed(self) -> int:
        return sum(r.strict_score for r in self.records)

    @property
    def deciding_passed(self) -> int:
        return self.strict_passed if self.strict else self.passed

    @property
    def evaluable(self) -> int:
        return sum(r.evaluable for r in self.records)

    @property
    def evaluate_py(self) -> tuple[int, int]:
        """What the official evaluate.py prints for the folder: passes among the filed results, and their number."""
        filed = [r for r in self.records if r.result_file]
        return sum(r.score for r in filed), len(filed)

    @cached_property
    def categories(self) -> dict[Category, list[str]]:
        """Each category with the instances in it (round suffix when there are rounds), in category order."""
        ids: dict[Category, list[str]] = {category: [] for category in Category}
        for record in sorted(self.records, key=lambda r: r.key):
            ids[record.category].append(self.label(record))
        return {category: found for category, found in ids.items() if found}

    def label(self, record: Record) -> str:
        return record.instance_id if self.rounds == 1 else f"{record.instance_id}#{record.round}"

    @cached_property
    def outcomes(self) -> Counter[str]:
        return Counter(r.outcome for r in self.records)

    @property
    def agent_seconds(self) -> float:
        return sum(r.agent_seconds for r in self.records)

    @property
    def ran_agents(self) -> list[Record]:
        return [r for r in self.records if r.agent and r.agent != "reused"]

    @property
    def costs(self) -> list[float]:
        return [r.cost_usd for r in self.records if r.cost_usd is not None]

    def slowest(self, count: int = SLOWEST_SHOWN) -> list[Record]:
        return sorted(self.ran_agents, key=lambda r: -r.agent_seconds)[:count]

    @cached_property
    def rounds(self) -> int:
        return max((r.round for r in self.records), default=1)

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

    def pass_at(self) -> dict[int, float]:
        """Mean unbiased pass@k over instances, for k = 1..rounds."""
        runs: Counter[str] = Counter(r.instance_id for r in self.records)
        passes = self.passes_per_instance()
        estimates = {}
        for k in range(1, self.rounds + 1):
            sampled = [i for i in runs if runs[i] >= k]
            estimates[k] = sum(pass_at_k(runs[i], passes[i], k) for i in sampled) / max(1, len(sampled))
        return estimates

    def stability(self) -> dict[str, list[str]]:
        """Instances that passed in every round, in some, or in none."""
        runs: Counter[str] = Counter(r.instance_id for r in self.records)
        groups: dict[str, list[str]] = {"always": [], "sometimes": [], "never": []}
        for instance_id, passes in self.passes_per_instance().items():
            kind = "never" if passes == 0 else "always" if passes == runs[instance_id] else "sometimes"
            groups[kind].append(instance_id)
        return groups

    def rounds_dict(self) -> dict[str, Any]:
        mean, error = mean_and_standard_error(self.per_round_scores())
        low, high = wilson_interval(self.passed, self.total)
        return {
            "count": self.rounds,
            "scores": self.per_round_scores(),
            "mean": mean,
            "standard_error": error,
            "wilson_95": [low, high],
            "pass_at_k": {str(k): value for k, value in self.pass_at().items()},
            "passes_per_instance": self.passes_per_instance(),
            "stability": self.stability(),
        }

    def to_dict(self) -> dict[str, Any]:
        passed_evaluate, filed = self.evaluate_py
        data: dict[str, Any] = {
            "verdict": "strict" if self.strict else "official",
            "passed": self.passed,
            "total": self.total,
            "score": ratio(self.passed, self.total),
            "evaluable": self.evaluable,
            "score_evaluable": ratio(self.passed, self.evaluable),
            "strict_passed": self.strict_passed,
            "evaluate_py": {"passed": passed_evaluate, "total": filed, "score": ratio(passed_evaluate, filed)},
            "categories": {str(c): len(ids) for c, ids in self.categories.items()},
            "instances_by_category": {str(c): ids for c, ids in self.categories.items()},
            "outcomes": {o: self.outcomes[o] for o in OUTCOMES if self.outcomes[o]},
            "agent_seconds": round(self.agent_seconds, 3),
            "cost_usd": round(sum(self.costs), 6),
        }
        if self.rounds > 1:
            data["rounds"] = self.rounds_dict()
        return data


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def percent(part: int, whole: int) -> str:
    return f"{100 * ratio(part, whole):.1f}%"


def fraction(part: int, whole: int) -> str:
    return f"{part}/{whole} ({percent(part, whole)})"
