"""Did a change help? This run's outcomes against an earlier run's, paired by instance."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .records import Record
from .stats import mcnemar_exact
from .store import SUMMARY


class BaselineError(Exception):
    """The baseline cannot be read; the message names the file."""


@dataclass(frozen=True)
class Comparison:
    newly_passing: list[str]
    newly_failing: list[str]
    paired: int
    p_value: float


def passes_by_instance(records: Iterable[Record]) -> dict[str, bool]:
    """An instance passes when it passed in more than half of its rounds (one round: when it passed)."""
    scores: dict[str, list[int]] = defaultdict(list)
    for record in records:
        scores[record.instance_id].append(record.score)
    return {instance_id: 2 * sum(values) > len(values) for instance_id, values in scores.items()}


def read_baseline(path: Path) -> dict[str, bool]:
    """Pass/fail per instance from a summary.json, or from the summary.json of a results folder."""
    file = path / SUMMARY if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        records = [Record.from_dict(entry) for entry in data["instances"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BaselineError(f"--spider2-baseline {path}: cannot read {file} as a summary.json ({error})") from None
    return passes_by_instance(records)


def compare(current: dict[str, bool], baseline: dict[str, bool]) -> Comparison:
    """Instances in both runs that flipped, and the exact McNemar p-value of the flips."""
    common = sorted(set(current) & set(baseline))
    newly_passing = [i for i in common if current[i] and not baseline[i]]
    newly_failing = [i for i in common if baseline[i] and not current[i]]
    return Comparison(newly_passing, newly_failing, len(common), mcnemar_exact(len(newly_passing), len(newly_failing)))
