"""The pytest side, and the only module that knows pytest: options, collection, stage fixtures, reports, display.

Each hook or fixture here hands plain values to a stage (`session` for the run's state and flow, `report` for
what is shown) and turns what comes back into pytest's terms: a parametrized test, a failure, a report
attribute that travels to the xdist controller, a terminal line.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from . import agents, hookspecs, instances, suite, workspace
from .agents import AgentContext, AgentOutcome
from .categories import Category
from .collect import FolderError
from .options import OPTIONS, Option, OptionError, resolve, resolve_path
from .report import terminal
from .report.records import Record
from .session import START_ERRORS, Collected, Request, Spider2Session, start

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
    try:
        state = start(request_of(config))
    except START_ERRORS as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[SESSION_KEY] = state
    config.pluginmanager.register(BuiltinAgent(state), "spider2dbt-builtin-agent")
    config.pluginmanager.register(Display(state, config), "spider2dbt-display")
    if config.getoption("htmlpath", None):
        config.pluginmanager.register(PytestHtml(), "spider2dbt-pytest-html")
    config.addinivalue_line("markers", "spider2: a Spider2-DBT benchmark instance")


def request_of(config: pytest.Config) -> Request:
    """What the user asked for, from the command line, the environment and the ini file."""
    root_value, demo, check, results = (setting(config, name) for name in ("root", "demo", "check", "results"))
    if not root_value and not demo:
        raise pytest.UsageError("no Spider2 suite to run: give --spider2-root PATH (or SPIDER2_ROOT) or --spider2-demo")
    if root_value and demo:
        raise pytest.UsageError("--spider2-root and --spider2-demo exclude each other: pick the suite to run")
    if check and results:
        raise pytest.UsageError("--spider2-check and --spider2-results exclude each other: both run no agent")
    base = config.invocation_params.dir
    results_dir = resolve_path(results, base)
    out_dir = resolve_path(setting(config, "out"), config.rootpath)
    assert out_dir is not None
    return Request(
        root=demo_root() if demo else resolve_path(root_value, base) or Path(root_value),
        agent=setting(config, "agent"),
        out_dir=results_dir if results_dir is not None and not setting_given(config, "out") else out_dir,
        invocation_dir=base,
        rootdir=config.rootpath,
        timeout=setting(config, "timeout"),
        model=setting(config, "model"),
        budget_usd=setting(config, "budget"),
        results_dir=results_dir,
        strict=setting(config, "strict"),
        rounds=setting(config, "rounds"),
        reuse=setting(config, "reuse"),
        check=check,
        max_result_mb=setting(config, "max_result_mb"),
        judge_timeout=setting(config, "judge_timeout"),
        judge_memory_mb=setting(config, "judge_memory_mb"),
        baseline=resolve_path(setting(config, "baseline"), base),
        clock=setting(config, "clock"),
        sandbox=setting(config, "sandbox"),
        sandbox_binds=setting(config, "sandbox_bind"),
        known_issues=not setting(config, "no_known_issues"),
        xfail_file=resolve_path(setting(config, "xfail"), base),
        basetemp=config.option.basetemp,
        command_line=tuple(config.invocation_params.args),
        recover=not hasattr(config, "workerinput"),
    )


def demo_root() -> Path:
    from . import demo

    try:
        return demo.demo_root(announce=lambda text: print(text, file=sys.stderr, flush=True))
    except demo.DemoBuildError as error:
        raise pytest.UsageError(f"the embedded demo suite could not be built: {error}") from None


def setting_given(config: pytest.Config, name: str) -> bool:
    option = next(o for o in OPTIONS if o.name == name)
    from_env = bool(option.env and os.environ.get(option.env))
    return bool(config.getoption(option.cli) or from_env or config.getini(option.ini))


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
    if issue is None or not state.mode.applies_known_issues:
        return []
    reason = f"{instance_id}: {issue.reason}"
    if issue.action == "skip":
        return [pytest.mark.skip(reason=reason)]
    return [pytest.mark.xfail(reason=reason, strict=False)]


def is_instance(item: pytest.Item) -> bool:
    return is_instance_node(item.nodeid)


def is_instance_node(nodeid: str) -> bool:
    return nodeid.startswith(NODE_ID + "::")


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
    if instance.problem and instance.problem_category and state.mode.fails_broken_instances:
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
    if not state.mode.runs_agents:
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
    project_dir = workspace_of(request, spider2_agent_run)
    collected = state.mode.collect(spider2_instance, project_dir, spider2_agent_run, spider2_round)
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
        verdict = state.mode.judge(instance, collected, outcome, spider2_round, workspace_of(request, outcome))
        request.node.stash[RECORD_KEY] = verdict.record
        request.node.stash[COLLECTED_KEY] = verdict.collected
        if verdict.failure:
            pytest.fail(verdict.failure, pytrace=False)
        return verdict.record

    return judge


def workspace_of(request: pytest.FixtureRequest, outcome: AgentOutcome | None) -> Path | None:
    """The workspace an agent worked in; None when no agent ran (judging, preflight, a reused result)."""
    if outcome is None or outcome.reused:
        return None
    return request.getfixturevalue("spider2_workspace")


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
            state.mode.file(record, item.stash.get(COLLECTED_KEY, Collected()))
        except (OSError, FolderError) as error:
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


def short_name(nodeid: str) -> str:
    """`lemonade001` (or `lemonade001-round-2`) of an instance's node id."""
    return nodeid.split("[", 1)[1].rstrip("]")


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
        session_of(session.config).mode.finish()


class Display:
    """The controller's view of the sweep: which instances run, progress lines, the end summary. An instance's
    progress line stands in for pytest's dot; on a terminal (without -v) a live status line stands below them."""

    def __init__(self, state: Spider2Session, config: pytest.Config) -> None:
        self.state = state
        self.config = config
        self.running: dict[str, tuple[float, datetime]] = {}
        self.durations: list[float] = []
        self.concurrency = 1
        self.total = 0

    def terminal(self) -> Any:
        return self.config.pluginmanager.get_plugin("terminalreporter")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = sum(map(is_instance, session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.total = sum(map(is_instance_node, ids))

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        if is_instance_node(nodeid):
            self.running[nodeid] = (time.monotonic(), datetime.now())
            self.concurrency = max(self.concurrency, len(self.running))
            self.show_status()

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not is_instance_node(report.nodeid):
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
            self.durations.append(time.monotonic() - started[0])
        self.show_progress(record)

    def crashed(self, report: pytest.TestReport) -> Record:
        """An xdist worker died while running the instance: a harness error, filed by the controller."""
        name = short_name(report.nodeid)
        instance_id, _, round_part = name.partition("-round-")
        instance = self.state.instance(instance_id)
        record = self.state.new_record(instance, int(round_part or 1), Category.HARNESS_ERROR, outcome="failed",
                                       message=f"the worker running it crashed: {report.longrepr}")
        self.state.mode.file(record, Collected())
        return record

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report: pytest.TestReport) -> Generator[None, Any, Any]:
        status = yield
        if self.shows_progress(self.terminal()) and is_instance_node(report.nodeid) and isinstance(status, tuple):
            category, _, word = status
            return category, "", word
        return status

    def show_progress(self, record: Record) -> None:
        terminal_reporter = self.terminal()
        if not self.shows_progress(terminal_reporter):
            return
        running = {short_name(nodeid): time.monotonic() - start for nodeid, (start, _) in self.running.items()}
        line = terminal.progress_line(record, len(self.state.records), self.total, running, self.estimate())
        if self.live(terminal_reporter):
            terminal_reporter.rewrite(line, erase=True)
            terminal_reporter.write("\n")
            self.show_status()
            return
        # Not write_line: it would make pytest write the test file's name again before the next instance.
        if getattr(terminal_reporter, "_width_of_current_line", 0):
            terminal_reporter.write("\n")
        terminal_reporter.write(line + "\n")

    def show_status(self) -> None:
        """The live status line, until the last instance has finished."""
        terminal_reporter = self.terminal()
        done = len(self.state.records)
        if not self.live(terminal_reporter) or done >= self.total:
            return
        estimate = self.estimate()
        finish_at = None if estimate is None else datetime.now() + timedelta(seconds=estimate)
        started = {short_name(nodeid): at for nodeid, (_, at) in self.running.items()}
        line = terminal.status_line(done, self.total, started, finish_at)
        terminal_reporter.rewrite(line[:max(0, shutil.get_terminal_size().columns - 1)], erase=True)

    def shows_progress(self, terminal_reporter: Any) -> bool:
        return terminal_reporter is not None and self.total > 1

    def live(self, terminal_reporter: Any) -> bool:
        return (self.shows_progress(terminal_reporter) and terminal_reporter.isatty
                and self.config.get_verbosity() <= 0)

    def estimate(self) -> float | None:
        return terminal.eta(self.durations, self.total - len(self.state.records), self.concurrency)

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        return self.state.mode.header_lines()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if hasattr(self.config, "workerinput") or not self.state.records:
            return
        terminalreporter.section("Spider2-DBT")
        for line in self.state.mode.end_lines():
            terminalreporter.write_line(line)


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

            from .report import html_section

            extra = extras.html(html_section.pytest_html_extra(record))
            report.extras = [*getattr(report, "extras", []), extra]  # type: ignore[attr-defined]  # pytest-html's
        return report

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        from .report import html_section

        cells[2:2] = html_section.pytest_html_header_cells()

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        from .report import html_section

        cells[2:2] = html_section.pytest_html_row_cells(getattr(report, RECORD_ATTRIBUTE, None))
