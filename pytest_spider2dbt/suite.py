"""Stage 1: read a Spider2-DBT checkout into instances (instruction + start project + gold + checks)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .categories import Category

INSTRUCTIONS = Path("examples") / "spider2-dbt.jsonl"
PLAIN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
EVALUATION = Path("evaluation_suite") / "gold" / "spider2_eval.jsonl"


class SuiteError(Exception):
    """The suite as a whole cannot be read (wrong root, malformed JSONL, duplicate ids)."""


@dataclass(frozen=True)
class Checks:
    """The arguments of the official `duckdb_match` for one instance."""

    gold_file: str
    condition_tabs: list[str] | None = None
    condition_cols: list[list[int]] | None = None
    ignore_orders: list[bool] | None = None


@dataclass(frozen=True)
class Instance:
    """One benchmark task; `problem` says why it cannot be run, if it cannot."""

    instance_id: str
    instruction: str
    example_dir: Path
    gold_dir: Path
    checks: Checks | None
    suite_root: Path
    problem: str | None = None
    problem_category: Category | None = None

    @property
    def gold_path(self) -> Path | None:
        return self.gold_dir / self.checks.gold_file if self.checks else None


@dataclass(frozen=True)
class Suite:
    root: Path
    instances: list[Instance]

    def by_id(self) -> dict[str, Instance]:
        return {instance.instance_id: instance for instance in self.instances}

    @property
    def instructions_path(self) -> Path:
        return self.root / INSTRUCTIONS

    @property
    def evaluation_path(self) -> Path:
        return self.root / EVALUATION


def resolve_suite_root(path: Path) -> Path:
    """Accept a Spider2 checkout root or its `spider2-dbt/` folder; return the `spider2-dbt/` folder."""
    path = path.expanduser().resolve()
    for candidate in (path, path / "spider2-dbt"):
        if (candidate / INSTRUCTIONS).is_file():
            return candidate
    raise SuiteError(
        f"{path} is not a Spider2 checkout: neither {path / INSTRUCTIONS} nor "
        f"{path / 'spider2-dbt' / INSTRUCTIONS} exists. Point --spider2-root at the root of a clone of "
        "github.com/xlang-ai/Spider2 (or its spider2-dbt/ folder) after running its spider2-dbt/setup.py."
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Parse a JSONL file; a bad line is a SuiteError naming the file and line number."""
    records = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise SuiteError(f"{path}:{number}: not valid JSON ({error.msg}); fix or remove that line") from None
            if not isinstance(record, dict) or not isinstance(record.get("instance_id"), str):
                raise SuiteError(f"{path}:{number}: expected a JSON object with a string \"instance_id\"")
            if not PLAIN_ID.fullmatch(record["instance_id"]):
                raise SuiteError(f"{path}:{number}: instance_id {record['instance_id']!r} is not a plain name "
                                 "(letters, digits, '_', '-', '.'; it names folders)")
            records.append(record)
    return records


def index_by_id(path: Path, records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    for record in records:
        instance_id = record["instance_id"]
        if instance_id in by_id:
            raise SuiteError(f"{path}: instance_id {instance_id!r} appears more than once; keep one line per instance")
        by_id[instance_id] = record
    return by_id


def parse_checks(evaluation: Any) -> Checks:
    """Turn an evaluator entry into Checks; raise ValueError with the reason when it is not a duckdb_match."""
    if isinstance(evaluation, list) and len(evaluation) == 1:
        evaluation = evaluation[0]
    if not isinstance(evaluation, dict) or evaluation.get("func") != "duckdb_match":
        raise ValueError(f"evaluation is not a single duckdb_match: {json.dumps(evaluation)[:200]}")
    parameters = evaluation.get("parameters") or {}
    if not isinstance(parameters.get("gold"), str):
        raise ValueError("evaluation parameters have no \"gold\" file name")
    return Checks(
        gold_file=parameters["gold"],
        condition_tabs=parameters.get("condition_tabs"),
        condition_cols=parameters.get("condition_cols"),
        ignore_orders=parameters.get("ignore_orders"),
    )


def load_suite(root: Path) -> Suite:
    """Read both JSONL files of a suite; per-instance problems are kept on the instance, not raised."""
    suite_root = resolve_suite_root(root)
    instructions_path = suite_root / INSTRUCTIONS
    evaluation_path = suite_root / EVALUATION
    if not evaluation_path.is_file():
        raise SuiteError(
            f"{evaluation_path} is missing: the evaluator config ships in the Spider2 repo; "
            "is this a complete checkout?"
        )
    instructions = index_by_id(instructions_path, read_jsonl(instructions_path))
    evaluations = index_by_id(evaluation_path, read_jsonl(evaluation_path))
    ordered_ids = list(instructions) + [i for i in evaluations if i not in instructions]
    return Suite(
        root=suite_root,
        instances=[
            build_instance(suite_root, i, instructions.get(i), evaluations.get(i), instructions_path, evaluation_path)
            for i in ordered_ids
        ],
    )


def build_instance(
    suite_root: Path,
    instance_id: str,
    instruction: dict[str, Any] | None,
    evaluation: dict[str, Any] | None,
    instructions_path: Path,
    evaluation_path: Path,
) -> Instance:
    example_dir = suite_root / "examples" / instance_id
    gold_dir = suite_root / "evaluation_suite" / "gold" / instance_id
    problem: str | None = None
    category: Category | None = None
    checks = None
    if instruction is None:
        problem = f"{instance_id} has an evaluator entry in {evaluation_path} but no instruction in {instructions_path}"
        category = Category.CONFIG_ERROR
    elif evaluation is None:
        problem = f"{instance_id} has no evaluator entry in {evaluation_path}; it cannot be judged"
        category = Category.CONFIG_ERROR
    else:
        try:
            checks = parse_checks(evaluation.get("evaluation"))
        except ValueError as error:
            problem, category = f"{instance_id}: {error} (in {evaluation_path})", Category.CONFIG_ERROR
    if problem is None and not example_dir.is_dir():
        problem, category = f"{instance_id}: the example project {example_dir} does not exist", Category.CONFIG_ERROR
    if problem is None and checks is not None and not (gold_dir / checks.gold_file).is_file():
        problem = f"{instance_id}: the gold database {gold_dir / checks.gold_file} does not exist"
        category = Category.GOLD_MISSING
    return Instance(
        instance_id=instance_id,
        instruction=str((instruction or {}).get("instruction", "")),
        example_dir=example_dir,
        gold_dir=gold_dir,
        checks=checks,
        suite_root=suite_root,
        problem=problem,
        problem_category=category,
    )


KNOWN_ISSUES = Path(__file__).with_name("known_issues.txt")
ACTIONS = ("skip", "xfail")


@dataclass(frozen=True)
class Reason:
    """One stated reason, with the file and line that state it."""

    text: str
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.text} [{self.file}:{self.line}]"


@dataclass(frozen=True)
class KnownIssue:
    """An instance expected to fail (`xfail`) or unable to run (`skip`), and every reason given for it."""

    instance_id: str
    action: str
    reasons: tuple[Reason, ...]

    @property
    def reason(self) -> str:
        """All reasons on one line (what `-rxs` shows), numbered when there are several."""
        if len(self.reasons) == 1:
            return str(self.reasons[0])
        return " ".join(f"({number}) {reason}" for number, reason in enumerate(self.reasons, start=1))

    def joined(self, other: KnownIssue) -> KnownIssue:
        """Both issues' reasons; `skip` wins, since an instance that cannot run cannot be expected to fail."""
        action = "skip" if "skip" in (self.action, other.action) else "xfail"
        return KnownIssue(self.instance_id, action, self.reasons + other.reasons)


def read_known_issues(path: Path, *, with_action: bool) -> dict[str, KnownIssue]:
    """Parse `instance_id [skip|xfail] reason` lines (`#` starts a comment line); an id may have several lines.

    Bad lines raise SuiteError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SuiteError(f"cannot read the known-issue file {path}: {error.strerror}") from None
    issues: dict[str, KnownIssue] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        issue = parse_known_issue_line(line, path, number, with_action=with_action)
        if issue is not None:
            issues = merge_known_issues(issues, {issue.instance_id: issue})
    return issues


def parse_known_issue_line(line: str, path: Path, number: int, *, with_action: bool) -> KnownIssue | None:
    fields = line.split(None, 2 if with_action else 1)
    if not fields or fields[0].startswith("#"):
        return None
    action = fields.pop(1) if with_action and len(fields) > 1 else "xfail"
    if action not in ACTIONS or len(fields) < 2:
        expected = "instance_id skip|xfail reason" if with_action else "instance_id reason"
        raise SuiteError(f"{path}:{number}: expected `{expected}`, got {line.strip()!r}")
    return KnownIssue(fields[0], action, (Reason(fields[1].strip(), path.name, number),))


def merge_known_issues(*registries: dict[str, KnownIssue]) -> dict[str, KnownIssue]:
    """One issue per instance holding the reasons of every registry, in order."""
    merged: dict[str, KnownIssue] = {}
    for registry in registries:
        for instance_id, issue in registry.items():
            merged[instance_id] = merged[instance_id].joined(issue) if instance_id in merged else issue
    return merged


def check_known_ids(issues: dict[str, KnownIssue], suite: Suite, path: Path) -> None:
    """A user's xfail list may only name instances of the suite (a typo would silently mark nothing)."""
    known = suite.by_id()
    for issue in issues.values():
        if issue.instance_id not in known:
            raise SuiteError(
                f"{path}:{issue.reasons[0].line}: unknown instance id {issue.instance_id!r} "
                f"(not in {suite.root / INSTRUCTIONS})"
            )


def missing_data(loaded: Suite) -> str | None:
    """One diagnosis for a checkout whose data archives were never unpacked (instead of an error per instance)."""
    runnable = [i for i in loaded.instances if i.checks is not None and i.example_dir.is_dir()]
    if not runnable:
        return None
    has_start = any(next(i.example_dir.glob("*.duckdb"), None) for i in runnable)
    has_gold = any(i.gold_path is not None and i.gold_path.is_file() for i in runnable)
    if has_start or has_gold:
        return None
    return (f"no start databases or gold files found under {loaded.root}: unpack the data archives "
            "(DBT_start_db.zip and dbt_gold.zip) with spider2-dbt/setup.py, as the Spider2 README says")
