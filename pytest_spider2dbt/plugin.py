"""The pytest side, and the only module that knows pytest: options, collection, stage fixtures, reports, display.

Each hook or fixture here hands plain values to a stage (`session` for the run's state and flow, `report` for
what is shown) and turns what comes back into pytest's terms: a parametrized test, a failure, a report
attribute that travels to the xdist controller, a terminal line.
"""

from __future__ import annotations

import getpass
import os
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from . import agents, collect, hookspecs, instances, suite, workspace
from .agents import AgentContext, AgentOutcome
from .agents.sandbox import SandboxError, choose_sandbox
from .categories import Category
from .clock import ClockError, parse_clock
from .options import OPTIONS, Option, OptionError, resolve, resolve_path
from .provenance import collect_provenance, header_lines
from .report import terminal
from .report.compare import BaselineError, compare, passes_by_instance, read_baseline
from .report.records import Record
from .report.summary import Summary
from .session import Collected, Mode, Settings, Spider2Session

NODE_ID = "spider2-dbt"
RECORD_ATTRIBUTE = "spider2_record"
SESSION_KEY = pytest.StashKey[Spider2Session]()
COLLECTED_KEY = pytest.StashKey[Collected]()
RECORD_KEY = pytest.StashKey[Record]()
# Options that activate a benchmark run from the ini file; on the command line, any --spider2-* option does.
ACTIVATING_INI = ("spider2_root", "spider2_demo")


# ------------------------------------------------------------------------------------------------ options


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("spider2dbt", "Spider2-DBT benchmark")
    for option in OPTIONS:
        described = f"{option.help} Env: {option.env}." if option.env else option.help
        if option.flag:
            group.addoption(option.cli, action="store_true", default=None, help=described)
            parser.addini(option.ini, described, type="bool", default=False)
        elif option.repeat:
            group.addoption(option.cli, action="append", metavar=option.name.upper(), default=None, help=described)
            parser.addini(option.ini, described, type="linelist", default=[])
        else:
            group.addoption(option.cli, metavar=option.name.upper(), default=None, help=described)
            parser.addini(option.ini, described, default=None)


def setting(config: pytest.Config, name: str) -> Any:
    option = next(o for o in OPTIONS if o.name == name)
    try:
        return resolve(option, config.getoption(option.cli), os.environ, config.getini(option.ini))
    except OptionError as error:
        raise pytest.UsageError(str(error)) from None


def benchmark_requested(config: pytest.Config) -> bool:
    """A benchmark run is asked for on the command line or in the ini file; an environment variable alone
    (an exported SPIDER2_ROOT) configures such a run but never turns someone else's test run into one."""
    on_command_line = any(config.getoption(option.cli) not in (None, False, []) for option in OPTIONS)
    return on_command_line or any(config.getini(name) for name in ACTIVATING_INI)


def check_rootdir_not_moved(config: pytest.Config) -> None:
    """`--spider2-root ~/Spider2` (with a space) reaches pytest before this plugin's options are known, so pytest
    takes the value for a test path when it picks the rootdir and ini file. Refuse when that changed them."""
    spaced = [option for option in OPTIONS if not option.flag and spaced_value(config, option)]
    if not spaced:
        return
    try:
        from _pytest.config.findpaths import determine_setup
    except ImportError:
        return
    rootpath, inipath, _, _ = determine_setup(
        inifile=config.option.inifilename, override_ini=config.option.override_ini,
        args=config.option.file_or_dir or [], rootdir_cmd_arg=config.option.rootdir or None,
        invocation_dir=config.invocation_params.dir,
    )
    if (rootpath, inipath) != (config.rootpath, config.inipath):
        option = spaced[0]
        raise pytest.UsageError(
            f"{option.cli} {spaced_value(config, option)} (with a space) made pytest take the value for a test path "
            f"when it chose the rootdir ({config.rootpath} instead of {rootpath}) and ini file, so your own settings "
            f"are not used. Write it with '=': {option.cli}={spaced_value(config, option)}"
        )


def spaced_value(config: pytest.Config, option: Option) -> str | None:
    args = list(config.invocation_params.args)
    for position, arg in enumerate(args[:-1]):
        if arg == option.cli:
            return str(args[position + 1])
    return None


def pytest_configure(config: pytest.Config) -> None:
    if not benchmark_requested(config):
        return
    check_rootdir_not_moved(config)
    root_value, demo = setting(config, "root"), setting(config, "demo")
    if not root_value and not demo:
        raise pytest.UsageError("no Spider2 suite to run: give --spider2-root PATH (or SPIDER2_ROOT) or --spider2-demo")
    if root_value and demo:
        raise pytest.UsageError("--spider2-root and --spider2-demo exclude each other: pick the suite to run")
    if setting(config, "check") and setting(config, "results"):
        raise pytest.UsageError("--spider2-check and --spider2-results exclude each other: both run no agent")
    try:
        state = start_session(config, demo_root() if demo else Path(root_value))
    except (agents.AgentSpecError, suite.SuiteError, collect.SubmissionError, collect.FolderError, SandboxError,
            BaselineError, ClockError) as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[SESSION_KEY] = state
    config.pluginmanager.register(BuiltinAgent(state), "spider2dbt-builtin-agent")
    config.pluginmanager.register(Display(state, config), "spider2dbt-display")
    if config.getoption("htmlpath", None):
        config.pluginmanager.register(PytestHtml(), "spider2dbt-pytest-html")
    config.addinivalue_line("markers", "spider2: a Spider2-DBT benchmark instance")


def demo_root() -> Path:
    from . import demo

    try:
        return demo.demo_root(announce=lambda text: print(text, file=sys.stderr, flush=True))
    except demo.DemoBuildError as error:
        raise pytest.UsageError(f"the embedded demo suite could not be built: {error}") from None


def start_session(config: pytest.Config, root: Path) -> Spider2Session:
    base = config.invocation_params.dir
    loaded = suite.load_suite(resolve_path(str(root), base) or root)
    diagnosis = suite.missing_data(loaded)
    if diagnosis and not setting(config, "check"):
        raise suite.SuiteError(diagnosis)
    agent = agents.parse_agent_spec(setting(config, "agent"), model=setting(config, "model"),
                                    budget_usd=setting(config, "budget"))
    import_roots = tuple(dict.fromkeys([base, config.rootpath]))
    python_path = import_roots
    if agent.kind == "python":
        agents.load_callable(agent.value, import_roots)
        python_path = tuple(dict.fromkeys([*import_roots, *filter(None, [agents.module_root(agent.value)])]))
    results_dir = resolve_path(setting(config, "results"), base)
    out_dir = resolve_path(setting(config, "out"), config.rootpath)
    assert out_dir is not None
    if results_dir is not None and not setting_given(config, "out"):
        out_dir = results_dir
    secrets = secret_paths(loaded.root, out_dir, results_dir)
    hidden = secrets + temp_paths(config)
    settings = Settings(
        agent=agent,
        timeout=setting(config, "timeout"),
        out_dir=out_dir,
        strict=setting(config, "strict"),
        rounds=setting(config, "rounds"),
        reuse=setting(config, "reuse"),
        max_result_mb=setting(config, "max_result_mb"),
        judge_timeout=setting(config, "judge_timeout"),
        judge_memory_mb=setting(config, "judge_memory_mb"),
        submission_dir=results_dir,
        check=setting(config, "check"),
        baseline=resolve_path(setting(config, "baseline"), base),
        clock=parse_clock(setting(config, "clock"), base, [i.instance_id for i in loaded.instances]),
        python_path=python_path,
        hidden=hidden,
    )
    sandbox = choose_sandbox(setting(config, "sandbox"), binds=setting(config, "sandbox_bind"), hidden=hidden,
                             read_only=python_path)
    check_agent_can_start(settings, loaded)
    state = Spider2Session(
        settings=settings,
        suite=loaded,
        sandbox=sandbox,
        provenance=collect_provenance(
            suite_root=loaded.root, instruction_file=loaded.instructions_path,
            evaluation_file=loaded.evaluation_path, agent=str(agent) if settings.mode is Mode.RUN else "",
            isolation=sandbox.isolation if settings.mode is Mode.RUN else "", clock=settings.clock.label,
            verdict="strict" if settings.strict else "official", command_line=list(config.invocation_params.args),
        ),
        known_issues=known_issues(config, loaded),
        submission=collect.read_submission(results_dir) if results_dir else None,
    )
    if settings.baseline is not None:
        read_baseline(settings.baseline)
    if state.mode is not Mode.PREFLIGHT:
        state.open_folders()
    return state


def setting_given(config: pytest.Config, name: str) -> bool:
    option = next(o for o in OPTIONS if o.name == name)
    from_env = bool(option.env and os.environ.get(option.env))
    return bool(config.getoption(option.cli) or from_env or config.getini(option.ini))


def secret_paths(suite_root: Path, out_dir: Path, results_dir: Path | None) -> tuple[Path, ...]:
    """Paths that lead to the gold or to results: never named to an agent, never visible in its sandbox."""
    from . import demo

    return real_paths([suite_root, out_dir, results_dir, demo.default_cache_dir()])


def temp_paths(config: pytest.Config) -> tuple[Path, ...]:
    """pytest's temporary folders, where other instances' workspaces lie: never visible in an agent's sandbox."""
    temp_root = Path(os.environ.get("PYTEST_DEBUG_TEMPROOT") or tempfile.gettempdir())
    return real_paths([temp_root / f"pytest-of-{current_user()}", config.option.basetemp])


def real_paths(paths: list[Path | str | None]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(Path(os.path.realpath(p)) for p in paths if p))


def current_user() -> str:
    try:
        return getpass.getuser()
    except (ImportError, KeyError, OSError):
        return "unknown"


def check_agent_can_start(settings: Settings, loaded: suite.Suite) -> None:
    if settings.mode is not Mode.RUN:
        return
    if settings.agent.kind == "reference":
        from . import demo

        if not {i.instance_id for i in loaded.instances} <= set(demo.DEMO_INSTANCE_IDS):
            raise agents.AgentSpecError("the reference agent only solves the embedded demo suite: run it with "
                                        "--spider2-demo")
    path = agents.environment.agent_path(os.environ.get("PATH", ""))
    problem = agents.startup_problem(settings.agent, {"PATH": path})
    if problem:
        raise agents.AgentSpecError(f"--spider2-agent {settings.agent}: {problem}")


def known_issues(config: pytest.Config, loaded: suite.Suite) -> dict[str, suite.KnownIssue]:
    """The shipped registry (unless turned off) and the user's xfail file; an instance in both keeps all reasons."""
    registries = []
    if not setting(config, "no_known_issues"):
        registries.append(suite.read_known_issues(suite.KNOWN_ISSUES, with_action=True))
    user_file = resolve_path(setting(config, "xfail"), config.invocation_params.dir)
    if user_file is not None:
        own = suite.read_known_issues(user_file, with_action=False)
        suite.check_known_ids(own, loaded, user_file)
        registries.append(own)
    return suite.merge_known_issues(*registries)


def session_of(config: pytest.Config) -> Spider2Session:
    return config.stash[SESSION_KEY]


def pytest_unconfigure(config: pytest.Config) -> None:
    if SESSION_KEY in config.stash:
        session_of(config).close()


# --------------------------------------------------------------------------------------------- collection


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Never import anything from the Spider2 tree (its vendored dbt packages ship pytest files of their own)."""
    if SESSION_KEY not in config.stash:
        return None
    if collection_path.is_relative_to(session_of(config).suite.root):
        return True
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        return True  # a benchmark run collects the instances only, unless test paths are named explicitly
    return None


class InstanceModule(pytest.Module):
    """The collector of the instance test. Its node id is fixed; its path is the rootdir, an existing folder
    holding every path a node id names, so `--lf` keeps it whenever anything failed last time."""

    def _getobj(self) -> Any:
        return instances


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if SESSION_KEY in collector.config.stash and isinstance(collector, pytest.Session) and report.passed:
        report.result.append(InstanceModule.from_parent(
            collector, name=NODE_ID, path=collector.config.rootpath, nodeid=NODE_ID
        ))
    return report


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.function is not instances.test_instance or SESSION_KEY not in metafunc.config.stash:
        return
    state = session_of(metafunc.config)
    params = [
        pytest.param(i.instance_id, id=i.instance_id, marks=marks_for(state, i.instance_id))
        for i in state.suite.instances
    ]
    metafunc.parametrize("spider2_instance_id", params)
    if state.settings.rounds > 1:
        rounds = range(1, state.settings.rounds + 1)
        metafunc.parametrize("spider2_round", rounds, ids=[f"round-{n}" for n in rounds])


def marks_for(state: Spider2Session, instance_id: str) -> list[pytest.MarkDecorator]:
    issue = state.known_issues.get(instance_id)
    if issue is None or state.mode is Mode.PREFLIGHT:
        return []
    reason = f"{instance_id}: {issue.reason}"
    if issue.action == "skip":
        return [pytest.mark.skip(reason=reason)]
    return [pytest.mark.xfail(reason=reason, strict=False)]


def is_instance(item: pytest.Item) -> bool:
    return item.nodeid.startswith(NODE_ID + "::")


# ----------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def spider2_round() -> int:
    """Which repetition of the instance this test is (1 unless `--spider2-rounds` is above 1)."""
    return 1


@pytest.fixture
def spider2_instance(request: pytest.FixtureRequest, spider2_instance_id: str, spider2_round: int) -> suite.Instance:
    """The parsed instance; a problem of the instance itself (no example, no gold) fails it here."""
    state = session_of(request.config)
    instance = state.instance(spider2_instance_id)
    if instance.problem and instance.problem_category and state.mode is not Mode.PREFLIGHT:
        record = state.new_record(instance, spider2_round, instance.problem_category, message=instance.problem)
        request.node.stash[RECORD_KEY] = record
        pytest.fail(f"{instance.instance_id}: {record.category} — {instance.problem}", pytrace=False)
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
def spider2_agent_run(
    request: pytest.FixtureRequest, spider2_instance: suite.Instance, spider2_round: int
) -> AgentOutcome | None:
    """Run the agent (a `pytest_spider2dbt_run_agent` hook, else `--spider2-agent`) in the workspace; None when
    no agent runs (judging a submission, preflight)."""
    state = session_of(request.config)
    if state.mode is not Mode.RUN:
        return None
    reused = state.reused_outcome(spider2_instance, spider2_round)
    if reused is not None:
        return reused
    project_dir: Path = request.getfixturevalue("spider2_workspace")
    context = state.agent_context(spider2_instance, project_dir, spider2_round)
    started = time.monotonic()
    value = request.config.hook.pytest_spider2dbt_run_agent(context=context)
    outcome = state.agent_outcome(value, context, started)
    stop = state.repeated_start_failure(outcome)
    if stop:
        request.session.shouldstop = stop
    return outcome


@pytest.fixture
def spider2_result(
    request: pytest.FixtureRequest,
    spider2_instance: suite.Instance,
    spider2_agent_run: AgentOutcome | None,
    spider2_round: int,
) -> Path | None:
    """The result database to judge: collected from the workspace, or read from `--spider2-results`."""
    state = session_of(request.config)
    needs_workspace = state.mode is Mode.RUN and not (spider2_agent_run and spider2_agent_run.reused)
    project_dir = request.getfixturevalue("spider2_workspace") if needs_workspace else None
    collected = state.collect(spider2_instance, project_dir, spider2_agent_run, spider2_round)
    request.node.stash[COLLECTED_KEY] = collected
    return collected.path


@pytest.fixture
def spider2_judge(request: pytest.FixtureRequest, spider2_round: int) -> Callable[..., Record]:
    """A callable that judges an instance like the official evaluator, records it and fails with the report."""
    state = session_of(request.config)

    def judge(instance: suite.Instance, outcome: AgentOutcome | None, result: Path | None) -> Record:
        __tracebackhide__ = True
        collected = request.node.stash.get(COLLECTED_KEY, Collected())
        if collected.path != result:
            collected = Collected(path=result)
        if state.mode is Mode.PREFLIGHT:
            verdict = state.preflight(instance, spider2_round)
        else:
            project_dir = request.getfixturevalue("spider2_workspace") if state.mode is Mode.RUN and not (
                outcome and outcome.reused) else None
            verdict = state.judge(instance, collected, outcome, spider2_round, project_dir)
        request.node.stash[RECORD_KEY] = verdict.record
        request.node.stash[COLLECTED_KEY] = verdict.collected
        if verdict.failure:
            pytest.fail(verdict.failure, pytrace=False)
        return verdict.record

    return judge


class BuiltinAgent:
    """The plugin's own `pytest_spider2dbt_run_agent`: the agent of `--spider2-agent`, registered to run last."""

    def __init__(self, state: Spider2Session) -> None:
        self.state = state

    @pytest.hookimpl(trylast=True)
    def pytest_spider2dbt_run_agent(self, context: AgentContext) -> AgentOutcome:
        instance = self.state.instance(context.instance_id)
        return agents.run_builtin(self.state.settings.agent, context, instance)


# ------------------------------------------------------------------------------------------------ reports


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """When an instance's outcome is known, file its record and send it with the report (to the controller)."""
    report = yield
    if SESSION_KEY not in item.config.stash or not is_instance(item):
        return report
    decisive = report.when == "call" or (report.when == "setup" and not report.passed)
    if decisive:
        state = session_of(item.config)
        record = finished_record(state, item, report, call)
        try:
            state.file(record, item.stash.get(COLLECTED_KEY, Collected()))
        except OSError as error:
            record.category = Category.HARNESS_ERROR
            record.message = f"the results folder could not be written: {error}"
        item.user_properties.extend(record.junit_properties())
        report.user_properties = list(item.user_properties)
        setattr(report, RECORD_ATTRIBUTE, record.to_dict())
    return report


def finished_record(state: Spider2Session, item: pytest.Item, report: pytest.TestReport,
                    call: pytest.CallInfo[None]) -> Record:
    """The judge's record, or the record of an instance that never reached the judge (skipped, or broken)."""
    record = item.stash.get(RECORD_KEY, None)
    if record is None:
        instance_id, round_number = item_ids(item)
        instance = state.instance(instance_id)
        if report.skipped and not hasattr(report, "wasxfail"):
            record = state.new_record(instance, round_number, Category.SKIPPED, message=skip_reason(report))
        else:
            record = state.new_record(instance, round_number, Category.HARNESS_ERROR, message=error_line(call))
    record.outcome = outcome_of(report)
    return record


def item_ids(item: pytest.Item) -> tuple[str, int]:
    params = item.callspec.params  # type: ignore[attr-defined]
    return params["spider2_instance_id"], params.get("spider2_round", 1)


def outcome_of(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.when == "setup" and report.failed:
        return "error"
    return report.outcome


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr or "")


def error_line(call: pytest.CallInfo[None]) -> str:
    if call.excinfo is None:
        return "the harness failed before the judge ran"
    return f"the harness failed: {call.excinfo.typename}: {' '.join(str(call.excinfo.value).split())[:300]}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    if SESSION_KEY in session.config.stash and not hasattr(session.config, "workerinput"):
        session_of(session.config).finish()


class Display:
    """The controller's view of the sweep: which instances run, progress lines, the end summary."""

    def __init__(self, state: Spider2Session, config: pytest.Config) -> None:
        self.state = state
        self.config = config
        self.running: dict[str, float] = {}
        self.durations: list[float] = []
        self.concurrency = 1
        self.total = 0

    def terminal(self) -> Any:
        return self.config.pluginmanager.get_plugin("terminalreporter")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.total = sum(map(is_instance, items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.total = sum(nodeid.startswith(NODE_ID + "::") for nodeid in ids)

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        if nodeid.startswith(NODE_ID + "::"):
            self.running[nodeid] = time.monotonic()
            self.concurrency = max(self.concurrency, len(self.running))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.nodeid.startswith(NODE_ID + "::"):
            return
        data = getattr(report, RECORD_ATTRIBUTE, None)
        if data is None and report.when == "???":
            data = self.crashed(report).to_dict()
        if data is None:
            return
        record = Record.from_dict(data)
        self.state.records[report.nodeid] = record
        started = self.running.pop(report.nodeid, None)
        if started is not None:
            self.durations.append(time.monotonic() - started)
        self.show_progress(record)

    def crashed(self, report: pytest.TestReport) -> Record:
        """An xdist worker died while running the instance: a harness error, filed by the controller."""
        name = report.nodeid.split("[", 1)[1].rstrip("]")
        instance_id, _, round_part = name.partition("-round-")
        instance = self.state.instance(instance_id)
        record = self.state.new_record(instance, int(round_part or 1), Category.HARNESS_ERROR, outcome="failed",
                                       message=f"the worker running it crashed: {report.longrepr}")
        self.state.file(record, Collected())
        return record

    def show_progress(self, record: Record) -> None:
        terminal_reporter = self.terminal()
        if terminal_reporter is None or self.total <= 1:
            return
        now = time.monotonic()
        running = {nodeid.split("[", 1)[1].rstrip("]"): now - start for nodeid, start in self.running.items()}
        done = len(self.state.records)
        estimate = terminal.eta(self.durations, self.total - done, self.concurrency)
        if getattr(terminal_reporter, "_width_of_current_line", 0):
            terminal_reporter.write("\n")  # pytest's progress dots share the line otherwise
        terminal_reporter.write_line(terminal.progress_line(record, done, self.total, running, estimate))

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        state = self.state
        lines = [f"spider2-dbt suite: {state.suite.root} ({len(state.suite.instances)} instances)"]
        if state.mode is Mode.PREFLIGHT:
            lines.append("spider2-dbt preflight (no agent runs)")
        elif state.mode is Mode.JUDGE:
            assert state.submission is not None
            lines.append(f"spider2-dbt judging submission: {len(state.submission)} results (no agent runs); "
                         f"summary: {state.settings.out_dir}")
        else:
            lines.append(f"spider2-dbt agent: {state.settings.agent} (timeout {state.settings.timeout:g} s), "
                         f"results: {state.settings.out_dir}")
            lines.append(f"spider2-dbt isolation: {state.sandbox.isolation}")
        lines.append(f"spider2-dbt verdict: {'strict (whole rows)' if state.settings.strict else 'official'}"
                     f"; clock: {state.settings.clock.label}")
        return lines + header_lines(state.provenance)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        state = self.state
        if hasattr(self.config, "workerinput") or not state.records:
            return
        terminalreporter.section("Spider2-DBT")
        if state.mode is Mode.PREFLIGHT:
            for line in state.preflight_table():
                terminalreporter.write_line(line)
            return
        run = Summary(tuple(state.records.values()), strict=state.settings.strict)
        for line in terminal.summary_lines(run):
            terminalreporter.write_line(line)
        for line in self.folder_lines(run):
            terminalreporter.write_line(line)
        for line in self.baseline_lines(run):
            terminalreporter.write_line(line)

    def folder_lines(self, run: Summary) -> list[str]:
        lines = []
        for round_number in range(1, self.state.settings.rounds + 1):
            records = self.state.folder_records(round_number)
            folder = Summary(tuple(records), strict=self.state.settings.strict)
            same = {r.key for r in records} == {r.key for r in run.records if r.round == round_number}
            shown = self.state.round_dir(round_number)
            lines += terminal.folder_lines(folder, str(shown), same_as_run=same)
        logs = self.state.settings.out_dir / "logs" if self.state.settings.rounds == 1 else self.state.settings.out_dir
        if self.state.mode is Mode.RUN:
            lines.append(f"  agent logs: {logs}")
        return lines

    def baseline_lines(self, run: Summary) -> list[str]:
        baseline = self.state.settings.baseline
        if baseline is None:
            return []
        comparison = compare(passes_by_instance(run.records), read_baseline(baseline))
        return terminal.baseline_lines(comparison.newly_passing, comparison.newly_failing, comparison.p_value,
                                       str(baseline))

# ------------------------------------------------------------------------------- pytest-html (--html=...)


class PytestHtml:
    """pytest-html's view of the instances: category, score, agent time and cost as columns, and the instance's
    section of report.html (match report, log tails, conversation) as an extra. Registered only when pytest-html
    writes a report; the extra is made where the instance ran and travels with its report."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        record = getattr(report, RECORD_ATTRIBUTE, None)
        if record is not None:
            from pytest_html import extras

            from .report import html

            report.extras = [*getattr(report, "extras", []), extras.html(html.pytest_html_extra(record))]
        return report

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        from .report import html

        cells[2:2] = html.pytest_html_header_cells()

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        from .report import html

        cells[2:2] = html.pytest_html_row_cells(getattr(report, RECORD_ATTRIBUTE, None))
