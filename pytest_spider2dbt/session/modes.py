"""The three kinds of run, chosen once when the session starts: each says how its instances are collected,
judged and filed, so no step has to ask which kind of run it is in.

- RunMode: agents work in private workspaces; results are staged, judged, and filed in the results folder.
- JudgeMode (`--spider2-results`): an existing submission is judged; its own summary goes to judge-summary.json.
- PreflightMode (`--spider2-check`): each instance's hygiene is checked; nothing runs, nothing is filed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .. import collect
from ..agents import AgentOutcome
from ..categories import Category
from ..collect import ResultsFolder
from ..provenance import header_lines
from ..report import store, terminal
from ..report.records import Record
from ..report.summary import Summary
from ..suite import Instance
from .state import Collected, Verdict

if TYPE_CHECKING:
    from .state import Spider2Session

JUDGE_SUMMARY = "judge-summary.json"


class Mode:
    """What every kind of run does; the subclasses say how."""

    name: ClassVar[str]
    runs_agents: ClassVar[bool] = False
    summary_name: ClassVar[str] = store.SUMMARY
    applies_known_issues: ClassVar[bool] = True
    fails_broken_instances: ClassVar[bool] = True

    def __init__(self, session: Spider2Session) -> None:
        self.session = session

    def record_labels(self, instance: Instance) -> dict[str, Any]:
        """What every record of this kind of run says about how it was obtained."""
        return {}

    def collect(self, instance: Instance, project_dir: Path | None, outcome: AgentOutcome | None,
                round_number: int) -> Collected:
        raise NotImplementedError

    def judge(self, instance: Instance, collected: Collected, outcome: AgentOutcome | None, round_number: int,
              project_dir: Path | None) -> Verdict:
        return self.session.judged(instance, collected, outcome, round_number, project_dir)

    def file(self, record: Record, collected: Collected) -> None:
        """Record a finished instance where this kind of run keeps its story."""

    def finish(self) -> None:
        """End of the run, on the controller."""

    def open_folders(self) -> None:
        self.session.open_folders()

    def recover(self) -> None:
        """Make the results folders whole again after a run that was killed while it filed (see RunMode)."""

    def header_lines(self) -> list[str]:
        """What the session header says about this run."""
        session = self.session
        verdict = "strict (whole rows)" if session.settings.strict else "official"
        return [
            f"spider2-dbt suite: {session.suite.root} ({len(session.suite.instances)} instances)",
            *self.what_runs(),
            f"spider2-dbt verdict: {verdict}; clock: {session.provenance['clock']}",
            *header_lines(session.provenance),
        ]

    def what_runs(self) -> list[str]:
        raise NotImplementedError

    def end_lines(self) -> list[str]:
        """The end-of-run summary: this run's numbers, then the results folder's."""
        session = self.session
        run = Summary(tuple(session.records.values()), strict=session.settings.strict)
        lines = terminal.summary_lines(run)
        for round_number in range(1, session.settings.rounds + 1):
            records = session.folder_records(round_number)
            same = {r.key for r in records} == {r.key for r in run.records if r.round == round_number}
            folder = Summary(tuple(records), strict=session.settings.strict)
            lines += terminal.folder_lines(folder, str(session.round_dir(round_number)), same_as_run=same)
        flips = session.baseline_flips(list(run.records))
        if flips is not None:
            lines += terminal.baseline_lines(flips["newly_passing"], flips["newly_failing"], flips["p_value"],
                                             flips["path"])
        return lines

    def rerender(self) -> None:
        """Render every report.html from its summary.json (the final, unthrottled rendering)."""
        session = self.session
        for round_number, folder in session.folders.items():
            with folder.locked():
                records = list(store.read_records(folder, self.summary_name).values())
                session.refresh_html(folder, session.document(records), round_number, force=True)


class RunMode(Mode):
    name = "run"
    runs_agents = True

    def record_labels(self, instance: Instance) -> dict[str, Any]:
        return {"isolation": self.session.sandbox.isolation,
                "clock": self.session.settings.clock.label_for(instance.instance_id)}

    def collect(self, instance: Instance, project_dir: Path | None, outcome: AgentOutcome | None,
                round_number: int) -> Collected:
        session = self.session
        folder = session.folder(round_number)
        if outcome is not None and outcome.reused:
            return Collected(path=collect.filed_result(folder, instance.instance_id), reused=True)
        if project_dir is None:
            return Collected()
        limit = session.settings.max_result_bytes
        found = collect.locate_result(project_dir, limit)
        if isinstance(found, collect.Refused):
            return Collected(refused=found.reason)
        if found is None:
            return Collected()
        try:
            staged = collect.stage_result(folder, instance.instance_id, found, limit)
        except (collect.FolderError, OSError) as error:
            return Collected(refused=f"{found}: {error}")
        return Collected(path=staged.path, staged=staged)

    def recover(self) -> None:
        """SIGKILL between the two renames of filing leaves a result listed in results_metadata.jsonl that
        summary.json does not know of (or the other way round). The listed result is judged again and recorded as
        recovered; a record that claims a result the metadata does not list loses its claim."""
        session = self.session
        for round_number, folder in session.folders.items():
            with folder.locked():
                listed = collect.read_metadata(folder)
                records = store.read_records(folder)
                recovered = [self.recovered(i, folder, round_number) for i in listed
                             if i in session.suite.by_id() and not claims(records.get(i), i, listed[i])]
                unlisted = [r for r in records.values() if r.result_file and r.instance_id not in listed]
                for record in unlisted:
                    record.result_file = record.result_sha256 = None
                if recovered or unlisted:
                    records.update({record.instance_id: record for record in recovered})
                    store.write_summary(folder, session.document(list(records.values())))

    def recovered(self, instance_id: str, folder: ResultsFolder, round_number: int) -> Record:
        session = self.session
        collected = Collected(path=collect.filed_result(folder, instance_id), reused=True)
        record = session.judged(session.instance(instance_id), collected, None, round_number, None).record
        record.agent = "recovered"
        record.message = f"judged again from the filed result after an interrupted run: {record.message}"
        return record

    def what_runs(self) -> list[str]:
        settings = self.session.settings
        return [f"spider2-dbt agent: {settings.agent} (timeout {settings.timeout:g} s), results: {settings.out_dir}",
                f"spider2-dbt isolation: {self.session.sandbox.isolation}"]

    def end_lines(self) -> list[str]:
        settings = self.session.settings
        logs = settings.out_dir / "logs" if settings.rounds == 1 else settings.out_dir
        return [*super().end_lines(), f"  agent logs: {logs}"]

    def file(self, record: Record, collected: Collected) -> None:
        """The result moved into place (or a stale one dropped) and summary.json rewritten, under the folder's
        lock, so that the two always agree."""
        session = self.session
        folder = session.folder(record.round)
        with folder.locked():
            if collected.staged is not None:
                collect.commit_result(folder, record.instance_id, collected.staged)
            elif not collected.reused:
                record.result_file = record.result_sha256 = None
                collect.forget_result(folder, record.instance_id)
            document = store.add_record(folder, record, session.document)
            session.refresh_html(folder, document, record.round)

    def finish(self) -> None:
        """Every report.html rendered from its summary; with rounds, the top folder's summary.json and
        report.html cover every round."""
        self.rerender()
        session = self.session
        if session.settings.rounds == 1:
            return
        records = [record for n in range(1, session.settings.rounds + 1) for record in session.folder_records(n)]
        top = ResultsFolder(session.settings.out_dir)
        try:
            with top.locked():
                document = session.document(records)
                store.write_summary(top, document)
                store.write_html(top, document)
        finally:
            top.close()


class JudgeMode(Mode):
    name = "judge"
    summary_name = JUDGE_SUMMARY

    def __init__(self, session: Spider2Session) -> None:
        super().__init__(session)
        self.recorded = recorded_hashes(session.submission.folder) if session.submission else {}

    def judge(self, instance: Instance, collected: Collected, outcome: AgentOutcome | None, round_number: int,
              project_dir: Path | None) -> Verdict:
        """The verdict, and whether the file changed since the run that filed it recorded its sha256."""
        verdict = super().judge(instance, collected, outcome, round_number, project_dir)
        record, recorded = verdict.record, self.recorded.get(instance.instance_id)
        if recorded and record.result_sha256 and record.result_sha256 != recorded:
            record.tampered = (f"{record.result_file} changed since it was filed: its sha256 is "
                               f"{record.result_sha256[:12]}…, the run recorded {recorded[:12]}…")
        return verdict

    def end_lines(self) -> list[str]:
        changed = [r.tampered for r in self.session.records.values() if r.tampered]
        return [*super().end_lines(), *(f"  WARNING: {line}" for line in changed)]

    def collect(self, instance: Instance, project_dir: Path | None, outcome: AgentOutcome | None,
                round_number: int) -> Collected:
        submission = self.session.submission
        assert submission is not None
        refused = submission.refused.get(instance.instance_id)
        return Collected(path=submission.results.get(instance.instance_id), refused=refused)

    def what_runs(self) -> list[str]:
        submission = self.session.submission
        assert submission is not None
        return [f"spider2-dbt judging submission: {len(submission)} results (no agent runs); "
                f"summary: {self.session.settings.out_dir / JUDGE_SUMMARY}"]

    def file(self, record: Record, collected: Collected) -> None:
        """judge-summary.json beside the submission's own summary.json, which is never overwritten."""
        session = self.session
        folder = session.folder(1)
        with folder.locked():
            document = store.add_record(folder, record, session.document, JUDGE_SUMMARY)
            session.refresh_html(folder, document, 1)

    def finish(self) -> None:
        self.rerender()


class PreflightMode(Mode):
    name = "preflight"
    applies_known_issues = False
    fails_broken_instances = False

    def collect(self, instance: Instance, project_dir: Path | None, outcome: AgentOutcome | None,
                round_number: int) -> Collected:
        return Collected()

    def judge(self, instance: Instance, collected: Collected, outcome: AgentOutcome | None, round_number: int,
              project_dir: Path | None) -> Verdict:
        """The instance's hygiene as a record: it fails when it cannot be run meaningfully."""
        from .. import preflight

        hygiene = preflight.inspect(instance)
        problems = hygiene.problems()
        category = instance.problem_category or (Category.CONFIG_ERROR if problems else Category.PASSED)
        record = self.session.new_record(instance, round_number, category, hygiene=hygiene.as_dict(),
                                         message="; ".join(problems))
        failure = f"{instance.instance_id}: {category} — " + "; ".join(problems) if problems else None
        return Verdict(record, failure)

    def open_folders(self) -> None:
        """Preflight writes nothing, so it opens no results folder."""

    def what_runs(self) -> list[str]:
        return ["spider2-dbt preflight (no agent runs)"]

    def end_lines(self) -> list[str]:
        from .. import preflight

        records = self.session.records.values()
        return preflight.table({r.instance_id: preflight.Hygiene(**r.hygiene) for r in records if r.hygiene})


def claims(record: Record | None, instance_id: str, entry: dict[str, Any]) -> bool:
    """The record says it filed the result that results_metadata.jsonl lists."""
    return record is not None and record.result_file == f"{instance_id}/{entry.get('answer_or_path')}"


def recorded_hashes(folder: Path) -> dict[str, str]:
    """instance id -> the sha256 the run that filed each result recorded in the submission's summary.json."""
    opened = ResultsFolder(folder)
    try:
        return {i: r.result_sha256 for i, r in store.read_records(opened).items() if r.result_sha256}
    finally:
        opened.close()


def mode_for(check: bool, submission_dir: Path | None) -> type[Mode]:
    if check:
        return PreflightMode
    return RunMode if submission_dir is None else JudgeMode
