"""One instance's result as a plain record: what JUnit, summary.json, the terminal and report.html show."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..agents import AgentOutcome
from ..categories import Category

# Categories decided by the judge that an agent's own failure explains better.
EXPLAINED_BY_AGENT = {
    Category.NO_RESULT_DB,
    Category.TABLE_MISSING,
    Category.ROW_COUNT_MISMATCH,
    Category.VALUE_MISMATCH,
    Category.STRICT_MISMATCH,
}


@dataclass
class Record:
    """One instance in one round. `score` is the official verdict; `category` says why, as this run decides."""

    instance_id: str
    category: Category
    score: int = 0
    strict_score: int = 0
    round: int = 1
    outcome: str = ""
    message: str = ""
    agent: str = ""
    agent_exit: int | None = None
    timed_out: bool = False
    agent_seconds: float = 0.0
    judge_seconds: float = 0.0
    cost_usd: float | None = None
    turns: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    model: str | None = None
    isolation: str = ""
    clock: str = "off"
    evaluable: bool = False
    in_submission: bool | None = None
    result_file: str | None = None
    result_sha256: str | None = None
    tampered: str | None = None
    log_dir: str | None = None
    report: dict[str, Any] | None = None
    hygiene: dict[str, str] | None = None
    finished_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    @property
    def key(self) -> tuple[str, int]:
        return self.instance_id, self.round

    def with_agent(self, outcome: AgentOutcome | None) -> Record:
        """Fill in the agent's facts (they stay in the record even when the result passes)."""
        if outcome is None:
            return self
        self.agent = outcome.agent
        self.agent_exit = outcome.exit_status
        self.timed_out = outcome.timed_out
        self.agent_seconds = round(outcome.seconds, 3)
        self.log_dir = str(outcome.log_dir) if outcome.log_dir else None
        for name in ("cost_usd", "turns", "input_tokens", "output_tokens", "model"):
            setattr(self, name, getattr(outcome.usage, name))
        return self

    def junit_properties(self) -> list[tuple[str, Any]]:
        properties: list[tuple[str, Any]] = [
            ("instance_id", self.instance_id),
            ("score", self.score),
            ("strict_score", self.strict_score),
            ("category", str(self.category)),
            ("agent_seconds", f"{self.agent_seconds:.1f}"),
            ("agent_exit", "" if self.agent_exit is None else self.agent_exit),
            ("timed_out", str(self.timed_out).lower()),
            ("isolation", self.isolation),
            ("clock", self.clock),
        ]
        optional = ("cost_usd", "turns", "input_tokens", "output_tokens", "model", "result_sha256")
        return properties + [(name, getattr(self, name)) for name in optional if getattr(self, name) is not None]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["category"] = str(self.category)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        """The record a to_dict() made; TypeError or ValueError for anything else."""
        if not isinstance(data, dict):
            raise TypeError(f"a record is a JSON object, not {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in data.items() if name in known}
        values["category"] = Category(values.get("category", Category.HARNESS_ERROR))
        return cls(**values)


def categorize(judged: Category, outcome: AgentOutcome | None, *, strict: bool, strict_score: int) -> Category:
    """The category of a judged instance: a failing agent explains a failing result before the table diff does,
    and under --spider2-strict a pass whose rows differ is a strict mismatch."""
    if judged is Category.PASSED:
        if not strict or strict_score:
            return Category.PASSED
        judged = Category.STRICT_MISMATCH
    if outcome is not None and judged in EXPLAINED_BY_AGENT:
        if outcome.timed_out:
            return Category.AGENT_TIMEOUT
        if outcome.failed:
            return Category.AGENT_ERROR
    return judged
