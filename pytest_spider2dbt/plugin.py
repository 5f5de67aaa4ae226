"""The pytest side: options, collection of one test per instance, stage fixtures, results and the summary."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import agents, collect, hookspecs, instance_test, suite, workspace
from .options import OPTIONS, OptionError, resolve, resolve_path
from .report import Record, Summary, categorize

if TYPE_CHECKING:
    from .match import MatchReport

NODE_ID = "spider2-dbt"
RECORD_KEY = pytest.StashKey[Record]()
PHASES_KEY = pytest.StashKey[dict[str, pytest.TestReport]]()
WORKER_OUTPUT_KEY = "spider2dbt_records"


@dataclass
class Spider2Session:
    """Everything the plugin knows about this run."""

    suite: suite.Suite
    agent: agents.AgentSpec
    timeout: float
    out_dir: Path
    strict: bool = False
    check: bool = False
    reuse: bool = False
    rounds: int = 1
    submission: dict[str, Path] | None = None
    known_issues: dict[str, suite.KnownIssue] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)

    def round_dir(self, round_number: int) -> Path:
        """Each round is a complete submission folder of its own; one round keeps the plain layout."""
        return self.out_dir if self.rounds == 1 else self.out_dir / f"round-{round_number}"

    def in_submission(self, instance_id: str) -> bool | None:
        return None if self.submission is None else instance_id in self.submission

    @property
    def mode(self) -> str:
        if self.check:
            return "preflight (no agent runs)"
        if self.submission is not None:
            return f"judging submission: {len(self.submission)} results (no agent runs)"
        return f"agent: {self.agent} (timeout {self.timeout:g} s), results: {self.out_dir}"


SESSION_KEY = pytest.StashKey[Spider2Session]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("spider2dbt", "Spider2-DBT benchmark")
    for option in OPTIONS:
        if option.flag:
            group.addoption(option.cli, action="store_true", default=None, help=option.help)
            parser.addini(option.ini, option.help, type="bool", default=False)
        else:
            described = f"{option.help} Env: {option.env}." if option.env else option.help
            group.addoption(option.cli, metavar=option.name.upper(), default=None, help=described)
            parser.addini(option.ini, described, default=None)


def setting(config: pytest.Config, name: str) -> Any:
    option = next(o for o in OPTIONS if o.name == name)
    try:
        return resolve(option, config.getoption(option.cli), os.environ, config.getini(option.ini))
    except OptionError as error:
        raise pytest.UsageError(str(error)) from None


def pytest_configure(config: pytest.Config) -> None:
    root_value, demo = setting(config, "root"), setting(config, "demo")
    if not root_value and not demo:
        return
    if root_value and demo:
        raise pytest.UsageError("--spider2-root and --spider2-demo exclude each other: pick the suite to run")
    if setting(config, "check") and setting(config, "results"):
        raise pytest.UsageError("--spider2-check and --spider2-results exclude each other: both run no agent")
    try:
        config.stash[SESSION_KEY] = start_session(config, demo_suite_root() if demo else root_value)
    except (agents.AgentSpecError, suite.SuiteError, collect.SubmissionError) as error:
        raise pytest.UsageError(str(error)) from None
    config.addinivalue_line("markers", "spider2: a Spider2-DBT benchmark instance")


def start_session(config: pytest.Config, root: str | Path) -> Spider2Session:
    base = config.invocation_params.dir
    agent = agents.parse_agent_spec(setting(config, "agent"), model=setting(config, "model"),
                                    budget_usd=setting(config, "budget"))
    if agent.kind == "python":
        agents.load_callable(agent.value)
    loaded = suite.load_suite(resolve_path(str(root), base))
    results_dir = resolve_path(setting(config, "results"), base)
    return Spider2Session(
        suite=loaded,
        agent=agent,
        timeout=setting(config, "timeout"),
        out_dir=resolve_path(setting(config, "out"), config.rootpath),
        strict=setting(config, "strict"),
        check=setting(config, "check"),
        reuse=setting(config, "reuse"),
        rounds=setting(config, "rounds"),
        submission=collect.read_submission(results_dir) if results_dir else None,
        known_issues=known_issues(config, loaded),
    )


def known_issues(config: pytest.Config, loaded: suite.Suite) -> dict[str, suite.KnownIssue]:
    """The shipped registry (unless turned off) overlaid with the user's own xfail file."""
    issues = {}
    if not setting(config, "no_known_issues"):
        issues.update(suite.read_known_issues(suite.KNOWN_ISSUES, with_action=True))
    user_file = resolve_path(setting(config, "xfail"), config.invocation_params.dir)
    if user_file is not None:
        own = suite.read_known_issues(user_file, with_action=False)
        suite.check_known_ids(own, loaded, user_file)
        issues.update(own)
    return issues


def demo_suite_root() -> Path:
    from . import demo

    try:
        return demo.demo_root()
    except demo.DemoBuildError as error:
        raise pytest.UsageError(f"the embedded demo suite could not be built: {error}") from None


def spider2_session(config: pytest.Config) -> Spider2Session | None:
    return config.stash.get(SESSION_KEY, None)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    session = spider2_session(config)
    if session is None:
        return None
    return [
        f"spider2-dbt suite: {session.suite.root} ({len(session.suite.instances)} instances)",
        f"spider2-dbt {session.mode}",
        f"spider2-dbt verdict: {'strict (whole rows)' if session.strict else 'official'}",
    ]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Never import anything from the Spider2 tree (its vendored dbt packages ship pytest files of their own)."""
    session = spider2_session(config)
    if session is None:
        return None
    if collection_path.is_relative_to(session.suite.root):
        return True
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        return True  # a benchmark run collects the instances only, unless test paths are named explicitly
    return None


class InstanceModule(pytest.Module):
    """The collector holding the instance test; its node id is fixed so `--lf` and xdist see stable ids."""

    def _getobj(self):
        return instance_test


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    report = yield
    session = spider2_session(collector.config)
    if session is not None and isinstance(collector, pytest.Session) and report.passed:
        report.result.append(
            InstanceModule.from_parent(collector, path=Path(instance_test.__file__), nodeid=NODE_ID)
        )
    return report


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.function is not instance_test.test_instance:
        return
    session = spider2_session(metafunc.config)
    params = [
        pytest.param(i.instance_id, id=i.instance_id, marks=marks_for(session, i.instance_id))
        for i in session.suite.instances
    ]
    metafunc.parametrize("spider2_instance_id", params)
    if session.rounds > 1:
        rounds = range(1, session.rounds + 1)
        metafunc.parametrize("spider2_round", rounds, ids=[f"round-{n}" for n in rounds])


def marks_for(session: Spider2Session, instance_id: str) -> list[pytest.MarkDecorator]:
    issue = session.known_issues.get(instance_id)
    if issue is None or session.check:
        return []
    reason = f"{instance_id}: {issue.reason} [{issue.source}]"
    return [pytest.mark.skip(reason=reason) if issue.action == "skip" else pytest.mark.xfail(reason=reason, strict=False)]


@pytest.fixture
def spider2_round() -> int:
    """Which repetition of the instance this test is (1 unless `--spider2-rounds` is above 1)."""
    return 1


@pytest.fixture
def spider2_instance(request: pytest.FixtureRequest, spider2_instance_id: str, spider2_round: int) -> suite.Instance:
    """The parsed instance; a problem of the instance itself (no example, no gold) fails it here."""
    session = spider2_session(request.config)
    instance = session.suite.by_id()[spider2_instance_id]
    if instance.problem and not session.check:
        request.node.stash[RECORD_KEY] = new_record(
            session, instance, spider2_round, category=instance.problem_category, message=instance.problem
        )
        pytest.fail(instance.problem, pytrace=False)
    return instance


def new_record(session: Spider2Session, instance: suite.Instance, round_number: int, **fields: Any) -> Record:
    """A record of this run for one instance; `fields` fill in what is known of its result."""
    values: dict[str, Any] = {
        "category": "config_error", "score": 0, "strict_score": 0, "agent": str(session.agent), "agent_seconds": 0.0,
    }
    values.update(fields)
    return Record(
        instance_id=instance.instance_id,
        in_submission=session.in_submission(instance.instance_id),
        gold_present=instance.gold_path is not None and instance.gold_path.is_file(),
        round=round_number,
        **values,
    )


@pytest.fixture
def spider2_workspace(spider2_instance: suite.Instance, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the instance's start project; override to prepare it before the agent starts."""
    base = tmp_path_factory.mktemp(f"{spider2_instance.instance_id}-", numbered=True)
    try:
        return workspace.make_workspace(spider2_instance, base)
    except workspace.WorkspaceError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def spider2_agent_run(
    request: pytest.FixtureRequest, spider2_instance: suite.Instance, spider2_round: int
) -> agents.AgentOutcome | None:
    """Run the configured agent (or a `pytest_spider2dbt_run_agent` hook) in the workspace; None when only judging."""
    session = spider2_session(request.config)
    if session.submission is not None or session.check:
        return None
    round_dir = session.round_dir(spider2_round)
    if session.reuse and collect.filed_result(round_dir, spider2_instance.instance_id):
        return agents.AgentOutcome(agent="reused", returncode=0, timed_out=False, seconds=0.0, reused=True)
    project_dir: Path = request.getfixturevalue("spider2_workspace")
    context = agent_context(session, spider2_instance, project_dir, round_dir / "logs" / spider2_instance.instance_id)
    configured = agents.builtin_runner(session.agent)
    hook_ran = False

    def run(ctx: agents.AgentContext) -> int | None:
        nonlocal hook_ran
        status = request.config.hook.pytest_spider2dbt_run_agent(context=ctx)
        hook_ran = status is not None
        return configured(ctx, spider2_instance) if status is None else status

    outcome = agents.run_agent(str(session.agent), run, context)
    if hook_ran:
        outcome.agent = "pytest_spider2dbt_run_agent hook"
    return outcome


def agent_context(
    session: Spider2Session, instance: suite.Instance, project_dir: Path, log_dir: Path
) -> agents.AgentContext:
    db_path = collect.target_db_path(project_dir) or project_dir / f"{instance.instance_id}.duckdb"
    clear_logs(log_dir)
    return agents.AgentContext(
        instance_id=instance.instance_id,
        instruction=instance.instruction,
        project_dir=project_dir,
        db_path=db_path,
        log_dir=log_dir,
        deadline=time.monotonic() + session.timeout,
        env=agents.agent_environment(instance, project_dir, db_path),
    )


def clear_logs(log_dir: Path) -> None:
    if log_dir.is_dir():
        for log in log_dir.iterdir():
            log.unlink()


@pytest.fixture
def spider2_result(
    request: pytest.FixtureRequest,
    spider2_instance: suite.Instance,
    spider2_agent_run: agents.AgentOutcome | None,
    spider2_round: int,
) -> Path | None:
    """The result database: filed in the results folder after the agent, or read from `--spider2-results`."""
    session = spider2_session(request.config)
    if session.check:
        return None
    if session.submission is not None:
        return session.submission.get(spider2_instance.instance_id)
    round_dir = session.round_dir(spider2_round)
    if spider2_agent_run is not None and spider2_agent_run.reused:
        return collect.filed_result(round_dir, spider2_instance.instance_id)
    found = collect.find_result_db(request.getfixturevalue("spider2_workspace"))
    if found is None:
        return None
    return collect.file_result(round_dir, spider2_instance.instance_id, found)


@pytest.fixture
def spider2_judge(request: pytest.FixtureRequest, spider2_round: int) -> Callable[..., Any]:
    """A callable that judges an instance like the official evaluator, records it and fails with the report."""
    session = spider2_session(request.config)

    def judge(instance: suite.Instance, outcome: agents.AgentOutcome | None, result: Path | None) -> Any:
        __tracebackhide__ = True
        if session.check:
            return check_instance(request.node, session, instance, spider2_round)
        report = judge_instance(instance, result)
        record = new_record(
            session,
            instance,
            spider2_round,
            category=categorize(report.category, outcome),
            score=report.score,
            strict_score=report.strict_score,
            agent=outcome.agent if outcome else "",
            agent_seconds=outcome.seconds if outcome else 0.0,
            message=report.message,
            cost_usd=outcome.cost_usd if outcome else None,
            turns=outcome.turns if outcome else None,
        )
        keep_record(request.node, record)
        if not (report.strict_score if session.strict else report.score):
            pytest.fail(failure_text(report, outcome, record, result), pytrace=False)
        return report

    return judge


def keep_record(item: pytest.Item, record: Record) -> None:
    item.stash[RECORD_KEY] = record
    item.user_properties.extend(record.junit_properties())


def judge_instance(instance: suite.Instance, result: Path | None) -> MatchReport:
    from .match import duckdb_match  # pandas loads only when something is judged

    checks = instance.checks
    return duckdb_match(
        str(result) if result else str(instance.example_dir / "<no result database>"),
        str(instance.gold_path),
        checks.condition_tabs,
        checks.condition_cols,
        checks.ignore_orders,
        instance_id=instance.instance_id,
    )


def check_instance(item: pytest.Item, session: Spider2Session, instance: suite.Instance, round_number: int) -> None:
    __tracebackhide__ = True
    from . import preflight

    hygiene = preflight.inspect(instance)
    problems = hygiene.problems()
    category = instance.problem_category or ("config_error" if problems else "passed")
    keep_record(item, new_record(session, instance, round_number, category=category, agent="", hygiene=hygiene.as_dict(),
                                 message="; ".join(problems)))
    if problems:
        pytest.fail(f"{instance.instance_id}: " + "; ".join(problems), pytrace=False)


def failure_text(report: MatchReport, outcome: agents.AgentOutcome | None, record: Record, result: Path | None) -> str:
    parts = [f"{record.instance_id}: {record.category}"] if record.category != report.category else []
    if outcome is not None:
        parts.append(outcome.describe())
    if result is None:
        parts.append("no result database: the agent left no DuckDB file in its workspace"
                     if record.in_submission is None else "no result database: the instance is not in the submission")
    parts.append(str(report))
    if outcome is not None and outcome.failed:
        parts.append(outcome.log_tail())
    return "\n".join(p for p in parts if p)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if not item.nodeid.startswith(NODE_ID + "::"):
        return report
    phases = item.stash.setdefault(PHASES_KEY, {})
    phases[report.when] = report
    if report.when != "teardown":
        return report
    session = spider2_session(item.config)
    record = item.stash.get(RECORD_KEY, None) or record_of_unrun(session, item)
    if not any(name == "instance_id" for name, _ in item.user_properties):
        item.user_properties.extend(record.junit_properties())
        report.user_properties = list(item.user_properties)
    record.outcome = outcome_of(phases)
    session.records.append(record)
    return report


def record_of_unrun(session: Spider2Session, item: pytest.Item) -> Record:
    """The record of an instance that never reached the judge (skipped by a mark, or broken before it)."""
    params = item.callspec.params
    instance = session.suite.by_id()[params["spider2_instance_id"]]
    issue = session.known_issues.get(instance.instance_id)
    return new_record(
        session,
        instance,
        params.get("spider2_round", 1),
        category=instance.problem_category or "skipped",
        message=instance.problem or (issue.reason if issue else ""),
    )


def outcome_of(phases: dict[str, pytest.TestReport]) -> str:
    setup, call = phases.get("setup"), phases.get("call")
    decisive = call if call is not None else setup
    if decisive is None:
        return "error"
    if hasattr(decisive, "wasxfail"):
        return "xpassed" if decisive.passed else "xfailed"
    if decisive is setup and setup.failed:
        return "error"
    return decisive.outcome


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = spider2_session(session.config)
    workeroutput = getattr(session.config, "workeroutput", None)
    if state is not None and workeroutput is not None:
        workeroutput[WORKER_OUTPUT_KEY] = json.dumps([r.to_dict() for r in state.records])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """xdist controller: merge a finished worker's records."""
    state = spider2_session(node.config)
    output = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
    if state is not None and output:
        state.records.extend(Record(**r) for r in json.loads(output))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    state = spider2_session(config)
    if state is None or hasattr(config, "workerinput") or not state.records:
        return
    summary = Summary(state.records, rounds=state.rounds)
    terminalreporter.section("Spider2-DBT")
    if state.check:
        from . import preflight

        rows = {r.instance_id: preflight.Hygiene(**r.hygiene) for r in state.records if r.hygiene}
        for line in preflight.table(rows):
            terminalreporter.write_line(line)
        return
    for line in summary.lines():
        terminalreporter.write_line(line)
    path = summary.write(state.out_dir)
    terminalreporter.write_line(f"  results: {state.out_dir}  (summary: {path.name})")
