"""The run's state: its settings, results folders, this run's records, and the steps every mode shares."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import agents, collect
from ..agents import AgentContext, AgentOutcome, AgentSpec, Sandbox
from ..categories import Category
from ..clock import Clock, faketime_environment
from ..collect import ResultsFolder, StagedResult, Submission
from ..judge import judge_instance
from ..report import logs, store
from ..report.failure import failure_text
from ..report.records import Record, categorize
from ..suite import Instance, KnownIssue, Suite

if TYPE_CHECKING:
    from ..match import MatchReport
    from .modes import Mode

START_FAILURES_BEFORE_STOP = 3
# report.html is re-rendered at most this often while a sweep runs, and always at its end.
HTML_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True)
class Settings:
    """Every setting of a benchmark run, resolved (command line > environment > ini)."""

    agent: AgentSpec
    timeout: float
    out_dir: Path
    strict: bool = False
    rounds: int = 1
    reuse: bool = False
    max_result_mb: int = collect.DEFAULT_MAX_RESULT_MB
    judge_timeout: float = 300.0
    judge_memory_mb: int = 4096
    submission_dir: Path | None = None
    check: bool = False
    baseline: Path | None = None
    clock: Clock = field(default_factory=Clock)
    python_path: tuple[Path, ...] = ()
    secrets: tuple[Path, ...] = ()

    @property
    def max_result_bytes(self) -> int:
        return self.max_result_mb * 2**20


@dataclass(frozen=True)
class Collected:
    """What collection found: the result to judge, and whether it is staged for filing or was refused."""

    path: Path | None = None
    staged: StagedResult | None = None
    refused: str | None = None
    reused: bool = False


@dataclass
class Verdict:
    """A judged instance: its record, and the failure text when the test must fail."""

    record: Record
    failure: str | None
    collected: Collected = field(default_factory=Collected)


@dataclass
class Spider2Session:
    """Everything the plugin knows about this run; `records` holds this run's results by test node id.

    `mode` (run, judge or preflight) is chosen once, when the session starts; the steps that differ live there.
    """

    settings: Settings
    suite: Suite
    sandbox: Sandbox
    provenance: dict[str, Any]
    mode_class: type[Mode]
    known_issues: dict[str, KnownIssue] = field(default_factory=dict)
    submission: Submission | None = None
    records: dict[str, Record] = field(default_factory=dict)
    start_failures: list[str] = field(default_factory=list)
    folders: dict[int, ResultsFolder] = field(default_factory=dict)
    html_written: dict[int, float] = field(default_factory=dict)
    baseline: dict[str, bool] | None = None
    mode: Mode = field(init=False)

    def __post_init__(self) -> None:
        self.mode = self.mode_class(self)

    def instance(self, instance_id: str) -> Instance:
        return self.suite.by_id()[instance_id]

    def round_dir(self, round_number: int) -> Path:
        """Each round is a complete submission folder of its own; one round keeps the plain layout."""
        out = self.settings.out_dir
        return out if self.settings.rounds == 1 else out / f"round-{round_number}"

    def folder(self, round_number: int = 1) -> ResultsFolder:
        """The round's results folder, opened once per process (before any agent of this process runs)."""
        if round_number not in self.folders:
            self.folders[round_number] = ResultsFolder(self.round_dir(round_number))
        return self.folders[round_number]

    def open_folders(self) -> None:
        for round_number in range(1, self.settings.rounds + 1):
            self.folder(round_number)

    def close(self) -> None:
        for folder in self.folders.values():
            folder.close()
        self.folders.clear()

    def new_record(self, instance: Instance, round_number: int, category: Category, **values: Any) -> Record:
        return Record(
            instance_id=instance.instance_id,
            category=category,
            round=round_number,
            in_submission=None if self.submission is None else instance.instance_id in self.submission,
            **self.mode.record_labels(instance),
            **values,
        )

    # ----------------------------------------------------------------------------------------- the agent

    def agent_context(self, instance: Instance, project_dir: Path, round_number: int) -> AgentContext:
        folder = self.folder(round_number)
        folder.fresh_subfolder(("logs", instance.instance_id))
        db_path = collect.target_db_path(project_dir) or project_dir / f"{instance.instance_id}.duckdb"
        env = agents.agent_environment(
            os.environ,
            instance_id=instance.instance_id,
            instruction=instance.instruction,
            project_dir=project_dir,
            db_path=db_path,
            report_path=project_dir.parent / "agent-report.json",
            hidden=self.settings.secrets,
            python_path=self.settings.python_path if self.settings.agent.kind == "python" else (),
        )
        day = self.settings.clock.date_for(instance.instance_id)
        if day is not None:
            env.update(faketime_environment(day, env.get("LD_PRELOAD")))
        return AgentContext(
            instance_id=instance.instance_id,
            instruction=instance.instruction,
            project_dir=project_dir,
            db_path=db_path,
            log_dir=folder.path / "logs" / instance.instance_id,
            deadline=time.monotonic() + self.settings.timeout,
            timeout=self.settings.timeout,
            env=env,
            sandbox=self.sandbox,
        )

    def reused_outcome(self, instance: Instance, round_number: int) -> AgentOutcome | None:
        """With --spider2-reuse, an instance whose result is already filed skips its agent."""
        if not self.settings.reuse or collect.filed_result(self.folder(round_number), instance.instance_id) is None:
            return None
        return AgentOutcome("reused", 0, False, 0.0, self.settings.timeout, reused=True)

    def agent_outcome(self, value: AgentOutcome | int, context: AgentContext, started: float) -> AgentOutcome:
        """The outcome of whatever ran the agent (the built-in runner or a user's hook), with its usage report."""
        outcome = value if isinstance(value, AgentOutcome) else agents.outcome_of_hook(value, context, started)
        return outcome.with_usage(agents.AgentUsage.read(context.report_path))

    def repeated_start_failure(self, outcome: AgentOutcome) -> str | None:
        """Why the sweep should stop: the same agent start failure, several times in a row."""
        if outcome.started or outcome.reused:
            self.start_failures.clear()
            return None
        self.start_failures.append(str(outcome.error))
        recent = self.start_failures[-START_FAILURES_BEFORE_STOP:]
        if len(recent) == START_FAILURES_BEFORE_STOP and len(set(recent)) == 1:
            return (f"stopping the sweep: the agent did not start {START_FAILURES_BEFORE_STOP} times in a row "
                    f"({recent[0]}); fix --spider2-agent and re-run with --lf")
        return None

    # -------------------------------------------------------------------------------------- the judge

    def judged(self, instance: Instance, collected: Collected, outcome: AgentOutcome | None, round_number: int,
               project_dir: Path | None) -> Verdict:
        """Judge the collected result and say, in a record and a failure text, what it means."""
        started = time.monotonic()
        report = None if collected.refused else judge_instance(
            instance, collected.path, timeout=self.settings.judge_timeout, memory_mb=self.settings.judge_memory_mb)
        judged = Category.RESULT_REFUSED if report is None else Category(report.category)
        category = categorize(judged, outcome, strict=self.settings.strict,
                              strict_score=report.strict_score if report is not None else 0)
        record = self.new_record(
            instance, round_number, category,
            score=report.score if report is not None else 0,
            strict_score=report.strict_score if report is not None else 0,
            message=verdict_message(report, collected),
            judge_seconds=round(time.monotonic() - started, 3),
            evaluable=instance.gold_path is not None and instance.gold_path.is_file()
            and judged is not Category.GOLD_MISSING,
            report=report.to_dict() if report is not None else None,
        ).with_agent(outcome)
        record.result_file, record.result_sha256 = result_identity(instance, collected)
        if record.strict_score if self.settings.strict else record.score:
            return Verdict(record, None, collected)
        hints = missing_model_hints(report, project_dir)
        tails = logs.log_tails(outcome.log_dir) if outcome is not None and outcome.failed else []
        return Verdict(record, failure_text(record, outcome, report_body(report), hints=hints, tails=tails), collected)

    # ------------------------------------------------------------------------------------- bookkeeping

    def refresh_html(self, folder: ResultsFolder, document: dict[str, Any], round_number: int,
                     force: bool = False) -> None:
        """Re-render report.html, at most every HTML_INTERVAL_SECONDS unless forced; the caller holds the lock."""
        now = time.monotonic()
        if force or now - self.html_written.get(round_number, float("-inf")) >= HTML_INTERVAL_SECONDS:
            store.write_html(folder, document, self.mode.summary_name)
            self.html_written[round_number] = now

    def document(self, records: list[Record]) -> dict[str, Any]:
        return store.document(records, strict=self.settings.strict, provenance=self.provenance,
                              baseline=self.baseline_flips(records))

    def baseline_flips(self, records: list[Record]) -> dict[str, Any] | None:
        """The flips against --spider2-baseline, for summary.json and report.html."""
        if self.baseline is None:
            return None
        from ..report.compare import compare, passes_by_instance

        comparison = compare(passes_by_instance(records), self.baseline)
        return {"path": str(self.settings.baseline), "newly_passing": comparison.newly_passing,
                "newly_failing": comparison.newly_failing, "p_value": comparison.p_value}

    def folder_records(self, round_number: int = 1) -> list[Record]:
        return list(store.read_records(self.folder(round_number), self.mode.summary_name).values())


def result_identity(instance: Instance, collected: Collected) -> tuple[str | None, str | None]:
    """The result's path inside its folder, and its sha256, for the record."""
    if collected.staged is not None:
        return f"{instance.instance_id}/{collected.staged.name}", collected.staged.sha256
    if collected.path is None:
        return None, None
    return f"{instance.instance_id}/{collected.path.name}", collect.sha256_of(collected.path)


def verdict_message(report: MatchReport | None, collected: Collected) -> str:
    if collected.refused:
        return f"the result was refused: {collected.refused}"
    assert report is not None
    if collected.path is None and report.category is Category.NO_RESULT_DB:
        return "no result database: nothing to judge was left in the workspace"
    return report.message


def report_body(report: MatchReport | None) -> str:
    """The match report without its first line (the failure's own headline says the verdict)."""
    if report is None:
        return ""
    return "\n".join(str(report).splitlines()[1:])


def missing_model_hints(report: MatchReport | None, project_dir: Path | None) -> list[str]:
    """For each graded table missing from the result: say so when no model file of that name exists."""
    if report is None or project_dir is None or report.category is not Category.TABLE_MISSING:
        return []
    hints = []
    for table in report.tables:
        if table.status == "missing" and not any(project_dir.rglob(f"{table.name.split('.')[-1]}.sql")):
            hints.append(f"the workspace has no model file {table.name}.sql: the agent never wrote this model")
    return hints
