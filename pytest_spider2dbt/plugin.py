"""The pytest side: options, collection of one test per instance, stage fixtures, results and the summary."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import agents, collect, hookspecs, instance_test, suite, workspace
from .match import MatchReport, duckdb_match
from .options import OPTIONS, OptionError, resolve, resolve_path
from .report import Record, Summary, categorize

NODE_ID = "spider2-dbt"
RECORD_KEY = pytest.StashKey["Record"]()
PHASES_KEY = pytest.StashKey["dict[str, pytest.TestReport]"]()
WORKER_OUTPUT_KEY = "spider2dbt_records"


@dataclass
class Spider2Session:
    """Everything the plugin knows about this run."""

    suite: suite.Suite
    agent: agents.AgentSpec
    timeout: float
    out_dir: Path
    strict: bool = False
    submission: dict[str, Path] | None = None
    records: list[Record] = field(default_factory=list)


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
            group.addoption(option.cli, metavar=option.name.upper(), default=None, help=option.help)
            parser.addini(option.ini, option.help, default=None)


def setting(config: pytest.Config, name: str):
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
    try:
        agent = agents.parse_agent_spec(setting(config, "agent"))
        if agent.kind == "python":
            agents.load_callable(agent.value)
        root = demo_suite_root() if demo else resolve_path(root_value, config.invocation_params.dir)
        loaded = suite.load_suite(root)
        results_dir = resolve_path(setting(config, "results"), config.invocation_params.dir)
        submission = collect.read_submission(results_dir) if results_dir else None
    except (agents.AgentSpecError, suite.SuiteError, collect.SubmissionError) as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[SESSION_KEY] = Spider2Session(
        suite=loaded,
        agent=agent,
        timeout=setting(config, "timeout"),
        out_dir=resolve_path(setting(config, "out"), config.rootpath),
        strict=setting(config, "strict"),
        submission=submission,
    )
    config.addinivalue_line("markers", "spider2: a Spider2-DBT benchmark instance")


def demo_suite_root() -> Path:
    from . import demo

    return demo.demo_root()


def spider2_session(config: pytest.Config) -> Spider2Session | None:
    return config.stash.get(SESSION_KEY, None)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    session = spider2_session(config)
    if session is None:
        return None
    if session.submission is not None:
        doing = f"spider2-dbt judging submission: {len(session.submission)} results (no agent runs)"
    else:
        doing = f"spider2-dbt agent: {session.agent} (timeout {session.timeout:g} s), results: {session.out_dir}"
    verdict = "strict (whole rows)" if session.strict else "official"
    return [f"spider2-dbt suite: {session.suite.root} ({len(session.suite.instances)} instances)", doing,
            f"spider2-dbt verdict: {verdict}"]


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
    ids = [instance.instance_id for instance in session.suite.instances]
    metafunc.parametrize("spider2_instance_id", ids, ids=ids)


@pytest.fixture
def spider2_instance(request: pytest.FixtureRequest, spider2_instance_id: str) -> suite.Instance:
    """The parsed instance; a problem of the instance itself (no example, no gold) fails it here."""
    session = spider2_session(request.config)
    instance = session.suite.by_id()[spider2_instance_id]
    if instance.problem:
        request.node.stash[RECORD_KEY] = Record(
            instance_id=instance.instance_id,
            category=instance.problem_category or "config_error",
            score=0,
            strict_score=0,
            agent=str(session.agent),
            agent_seconds=0.0,
            message=instance.problem,
            in_submission=None if session.submission is None else instance.instance_id in session.submission,
        )
        pytest.fail(instance.problem, pytrace=False)
    return instance


@pytest.fixture
def spider2_workspace(spider2_instance: suite.Instance, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the instance's start project; override to prepare it before the agent starts."""
    base = tmp_path_factory.mktemp(f"{spider2_instance.instance_id}-", numbered=True)
    try:
        return workspace.make_workspace(spider2_instance, base)
    except workspace.WorkspaceError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def spider2_agent_run(request: pytest.FixtureRequest, spider2_instance: suite.Instance) -> agents.AgentOutcome | None:
    """Run the configured agent (or a `pytest_spider2dbt_run_agent` hook) in the workspace; None when only judging."""
    session = spider2_session(request.config)
    if session.submission is not None:
        return None
    project_dir: Path = request.getfixturevalue("spider2_workspace")
    db_path = collect.target_db_path(project_dir) or project_dir / f"{spider2_instance.instance_id}.duckdb"
    context = agents.AgentContext(
        instance_id=spider2_instance.instance_id,
        instruction=spider2_instance.instruction,
        project_dir=project_dir,
        db_path=db_path,
        log_dir=session.out_dir / "logs" / spider2_instance.instance_id,
        deadline=time.monotonic() + session.timeout,
        env=agents.agent_environment(spider2_instance, project_dir, db_path),
    )
    clear_logs(context.log_dir)
    configured = agents.builtin_runner(session.agent)
    hook = request.config.hook.pytest_spider2dbt_run_agent
    name = "pytest_spider2dbt_run_agent" if hook.get_hookimpls() else str(session.agent)

    def run(ctx: agents.AgentContext) -> int | None:
        status = hook(context=ctx)
        return configured(ctx, spider2_instance) if status is None else status

    return agents.run_agent(name, run, context)


def clear_logs(log_dir: Path) -> None:
    if log_dir.is_dir():
        for log in log_dir.iterdir():
            log.unlink()


@pytest.fixture
def spider2_result(
    request: pytest.FixtureRequest, spider2_instance: suite.Instance, spider2_agent_run: agents.AgentOutcome | None
) -> Path | None:
    """The result database: filed in the results folder after the agent, or read from `--spider2-results`."""
    session = spider2_session(request.config)
    if session.submission is not None:
        return session.submission.get(spider2_instance.instance_id)
    found = collect.find_result_db(request.getfixturevalue("spider2_workspace"))
    if found is None:
        return None
    return collect.file_result(session.out_dir, spider2_instance.instance_id, found)


@pytest.fixture
def spider2_judge(request: pytest.FixtureRequest):
    """A callable that judges an instance like the official evaluator, records it and fails with the report."""

    session = spider2_session(request.config)

    def judge(instance: suite.Instance, outcome: agents.AgentOutcome | None, result: Path | None) -> MatchReport:
        __tracebackhide__ = True
        report = judge_instance(instance, result)
        record = Record(
            instance_id=instance.instance_id,
            category=categorize(report.category, outcome),
            score=report.score,
            strict_score=report.strict_score,
            agent=outcome.agent if outcome else "",
            agent_seconds=outcome.seconds if outcome else 0.0,
            message=report.message,
            cost_usd=outcome.cost_usd if outcome else None,
            turns=outcome.turns if outcome else None,
            in_submission=None if session.submission is None else instance.instance_id in session.submission,
        )
        request.node.stash[RECORD_KEY] = record
        request.node.user_properties.extend(record.junit_properties())
        if not (report.strict_score if session.strict else report.score):
            pytest.fail(failure_text(report, outcome, record), pytrace=False)
        return report

    return judge


def judge_instance(instance: suite.Instance, result: Path | None) -> MatchReport:
    checks = instance.checks
    return duckdb_match(
        str(result) if result else str(instance.example_dir / "<no result database>"),
        str(instance.gold_path),
        checks.condition_tabs,
        checks.condition_cols,
        checks.ignore_orders,
        instance_id=instance.instance_id,
    )


def failure_text(report: MatchReport, outcome: agents.AgentOutcome | None, record: Record) -> str:
    parts = [f"{record.instance_id}: {record.category}"]
    if outcome is not None:
        parts.append(outcome.describe())
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
    record = item.stash.get(RECORD_KEY, None)
    if report.when == "teardown" and record is not None:
        if not any(name == "instance_id" for name, _ in item.user_properties):
            item.user_properties.extend(record.junit_properties())
            report.user_properties = list(item.user_properties)
        record.outcome = outcome_of(phases)
        spider2_session(item.config).records.append(record)
    return report


def outcome_of(phases: dict[str, pytest.TestReport]) -> str:
    setup, call = phases.get("setup"), phases.get("call")
    if setup is not None and setup.failed:
        return "error"
    if call is None:
        return "skipped"
    if hasattr(call, "wasxfail"):
        return "xpassed" if call.passed else "xfailed"
    return call.outcome


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


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    state = spider2_session(config)
    if state is None or hasattr(config, "workerinput"):
        return
    summary = Summary(state.records)
    terminalreporter.section("Spider2-DBT")
    for line in summary.lines():
        terminalreporter.write_line(line)
    if state.records:
        path = summary.write(state.out_dir)
        terminalreporter.write_line(f"  results: {state.out_dir}  (summary: {path.name})")
