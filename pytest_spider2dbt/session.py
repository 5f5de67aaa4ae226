"""The run's state and the flow of one instance through the stages, in plain values (no pytest here).

A run is in one of three modes, chosen once: `run` (agents work, results are filed and judged), `judge` (an
existing submission is judged) or `preflight` (each instance's hygiene is checked). Each mode is a class with
the same steps, so a step never asks which mode it is in.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import agents, collect
from .agents import AgentContext, AgentOutcome, AgentSpec, Sandbox
from .categories import Category
from .clock import OFF, Clock, faketime_environment
from .collect import ResultsFolder, StagedResult, Submission
from .judge import judge_instance
from .report import logs, store
from .report.failure import failure_text
from .report.records import Record, categorize
from .suite import Instance, KnownIssue, Suite

if TYPE_CHECKING:
    from .match import MatchReport

JUDGE_SUMMARY = "judge-summary.json"
START_FAILURES_BEFORE_STOP = 3
# report.html is re-rendered at most this often while a sweep runs, and always at its end.
HTML_INTERVAL_SECONDS = 10.0


class Mode(StrEnum):
    RUN = "run"
    JUDGE = "judge"
    PREFLIGHT = "preflight"


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
    def mode(self) -> Mode:
        if self.check:
            return Mode.PREFLIGHT
        return Mode.RUN if self.submission_dir is None else Mode.JUDGE

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
    """Everything the plugin knows about this run; `records` holds this run's results by test node id."""

    settings: Settings
    suite: Suite
    sandbox: Sandbox
    provenance: dict[str, Any]
    known_issues: dict[str, KnownIssue] = field(default_factory=dict)
    submission: Submission | None = None
    records: dict[str, Record] = field(default_factory=dict)
    start_failures: list[str] = field(default_factory=list)
    folders: dict[int, ResultsFolder] = field(default_factory=dict)
    html_written: dict[int, float] = field(default_factory=dict)

    @property
    def mode(self) -> Mode:
        return self.settings.mode

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
            isolation=self.sandbox.isolation if self.mode is Mode.RUN else "",
            clock=self.settings.clock.label_for(instance.instance_id) if self.mode is Mode.RUN else OFF,
            in_submission=None if self.submission is None else instance.instance_id in self.submission,
            **values,
        )

    # ----------------------------------------------------------------------------------------- the agent

    def agent_context(self, instance: Instance, project_dir: Path, round_number: int) -> AgentContext:
        folder = self.folder(round_number)
        folder.fresh_subfolder(("logs", instance.instance_id))
        db_path = collect.target_db_path(project_dir) or project_dir / f"{instance.instance_id}.duckdb"
        report_path = project_dir.parent / "agent-report.json"
        env = agents.agent_environment(
            os.environ,
            instance_id=instance.instance_id,
            instruction=instance.instruction,
            project_dir=project_dir,
            db_path=db_path,
            report_path=report_path,
            hidden=self.settings.secrets,
            python_path=self.settings.python_path if self.settings.agent.kind == "python" else (),
        )
        day = self.settings.clock.date_for(instance.instance_id)
        if day is not None:
            env.update(faketime_environment(day))
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

    # ------------------------------------------------------------------------------------- the result

    def collect(self, instance: Instance, project_dir: Path | None, outcome: AgentOutcome | None,
                round_number: int) -> Collected:
        if self.mode is Mode.JUDGE:
            return self.submitted(instance)
        if outcome is not None and outcome.reused:
            return Collected(path=collect.filed_result(self.folder(round_number), instance.instance_id), reused=True)
        if self.mode is Mode.PREFLIGHT or project_dir is None:
            return Collected()
        folder = self.folder(round_number)
        found = collect.locate_result(project_dir, self.settings.max_result_bytes)
        if isinstance(found, collect.Refused):
            return Collected(refused=found.reason)
        if found is None:
            return Collected()
        try:
            staged = collect.stage_result(folder, instance.instance_id, found, self.settings.max_result_bytes)
        except (collect.FolderError, OSError) as error:
            return Collected(refused=f"{found}: {error}")
        return Collected(path=staged.path, staged=staged)

    def submitted(self, instance: Instance) -> Collected:
        assert self.submission is not None
        refused = self.submission.refused.get(instance.instance_id)
        return Collected(path=self.submission.results.get(instance.instance_id), refused=refused)

    # -------------------------------------------------------------------------------------- the judge

    def judge(self, instance: Instance, collected: Collected, outcome: AgentOutcome | None, round_number: int,
              project_dir: Path | None) -> Verdict:
        """Judge the collected result and say, in a record and a failure text, what it means."""
        started = time.monotonic()
        report = None if collected.refused else judge_instance(
            instance, collected.path, timeout=self.settings.judge_timeout, memory_mb=self.settings.judge_memory_mb)
        judged = Category.RESULT_REFUSED if report is None else Category(report.category)
        category = categorize(judged, outcome, strict=self.settings.strict,
                              strict_score=report.strict_score if report else 0)
        record = self.new_record(
            instance, round_number, category,
            score=report.score if report else 0,
            strict_score=report.strict_score if report else 0,
            message=verdict_message(report, collected),
            judge_seconds=round(time.monotonic() - started, 3),
            evaluable=instance.gold_path is not None and instance.gold_path.is_file()
            and judged is not Category.GOLD_MISSING,
            report=report.to_dict() if report else None,
        ).with_agent(outcome)
        record.result_file, record.result_sha256 = self.result_identity(instance, collected)
        passed = record.strict_score if self.settings.strict else record.score
        if passed:
            return Verdict(record, None, collected)
        hints = missing_model_hints(report, project_dir)
        tails = logs.log_tails(outcome.log_dir) if outcome is not None and outcome.failed else []
        body = report_body(report)
        return Verdict(record, failure_text(record, outcome, body, hints=hints, tails=tails), collected)

    def result_identity(self, instance: Instance, collected: Collected) -> tuple[str | None, str | None]:
        """The result's path inside its folder, and its sha256, for the record."""
        if collected.staged is not None:
            return f"{instance.instance_id}/{collected.staged.name}", collected.staged.sha256
        if collected.path is None:
            return None, None
        return f"{instance.instance_id}/{collected.path.name}", collect.sha256_of(collected.path)

    # ------------------------------------------------------------------------------------- bookkeeping

    def file(self, record: Record, collected: Collected) -> None:
        """Record a finished instance in its results folder: the result moved into place (or a stale one
        dropped) and summary.json rewritten, under the folder's lock, so the two always agree."""
        if self.mode is Mode.PREFLIGHT:
            return
        if self.mode is Mode.JUDGE:
            self.file_judged(record)
            return
        folder = self.folder(record.round)
        with folder.locked():
            if collected.staged is not None:
                collect.commit_result(folder, record.instance_id, collected.staged)
            elif not collected.reused:
                record.result_file = record.result_sha256 = None
                collect.forget_result(folder, record.instance_id)
            document = store.add_record(folder, record, strict=self.settings.strict, provenance=self.provenance)
            self.refresh_html(folder, document, record.round)

    def file_judged(self, record: Record) -> None:
        folder = self.folder(1)
        with folder.locked():
            document = store.add_record(folder, record, strict=self.settings.strict, provenance=self.provenance,
                                        name=JUDGE_SUMMARY)
            self.refresh_html(folder, document, 1)

    @property
    def summary_name(self) -> str:
        return JUDGE_SUMMARY if self.mode is Mode.JUDGE else store.SUMMARY

    def refresh_html(self, folder: ResultsFolder, document: dict[str, Any], round_number: int,
                     force: bool = False) -> None:
        """Re-render report.html, at most every HTML_INTERVAL_SECONDS unless forced; the caller holds the lock."""
        now = time.monotonic()
        if force or now - self.html_written.get(round_number, float("-inf")) >= HTML_INTERVAL_SECONDS:
            store.write_html(folder, document, self.summary_name)
            self.html_written[round_number] = now

    def finish(self) -> None:
        """End of the run (on the controller): every report.html rendered from its summary; with rounds, the top
        folder's summary.json and report.html cover every round."""
        if self.mode is Mode.PREFLIGHT:
            return
        for round_number, folder in self.folders.items():
            with folder.locked():
                records = store.read_records(folder, self.summary_name)
                document = store.document(list(records.values()), strict=self.settings.strict,
                                          provenance=self.provenance)
                self.refresh_html(folder, document, round_number, force=True)
        if self.settings.rounds > 1:
            self.write_rounds_summary()

    def write_rounds_summary(self) -> None:
        records = [record for n in range(1, self.settings.rounds + 1) for record in self.folder_records(n)]
        top = ResultsFolder(self.settings.out_dir)
        try:
            with top.locked():
                document = store.document(records, strict=self.settings.strict, provenance=self.provenance)
                top.write_text(store.SUMMARY, json.dumps(document, indent=2, default=str) + "\n")
                store.write_html(top, document)
        finally:
            top.close()

    # --------------------------------------------------------------------------------------- preflight

    def preflight(self, instance: Instance, round_number: int) -> Verdict:
        """The instance's hygiene as a record: fails when it cannot be run meaningfully."""
        from . import preflight

        hygiene = preflight.inspect(instance)
        problems = hygiene.problems()
        category = instance.problem_category or (Category.CONFIG_ERROR if problems else Category.PASSED)
        record = self.new_record(instance, round_number, category, hygiene=hygiene.as_dict(),
                                 message="; ".join(problems))
        failure = f"{instance.instance_id}: {category} — " + "; ".join(problems) if problems else None
        return Verdict(record, failure)

    def preflight_table(self) -> list[str]:
        from . import preflight

        rows = {r.instance_id: preflight.Hygiene(**r.hygiene) for r in self.records.values() if r.hygiene}
        return preflight.table(rows)

    def folder_records(self, round_number: int = 1) -> list[Record]:
        return list(store.read_records(self.folder(round_number), self.summary_name).values())


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

