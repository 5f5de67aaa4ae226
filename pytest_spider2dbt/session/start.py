"""Starting a session: from what the user asked for (plain values) to a checked, ready Spider2Session."""

from __future__ import annotations

import getpass
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import agents, collect, demo, suite
from ..agents.sandbox import Sandbox, SandboxError, choose_sandbox, hidden_command
from ..clock import ClockError, parse_clock
from ..provenance import collect_provenance
from ..report.compare import BaselineError, read_baseline
from .modes import RunMode, mode_for
from .state import Settings, Spider2Session

# Everything that makes a run impossible before it starts; the plugin turns each into a usage error.
START_ERRORS = (agents.AgentSpecError, suite.SuiteError, collect.SubmissionError, collect.FolderError, SandboxError,
                BaselineError, ClockError)


@dataclass(frozen=True)
class Request:
    """What the user asked for, resolved from the command line, the environment and the ini file."""

    root: Path
    agent: str
    out_dir: Path
    invocation_dir: Path
    rootdir: Path
    timeout: float = 1800.0
    model: str = agents.DEFAULT_MODEL
    budget_usd: float | None = None
    results_dir: Path | None = None
    strict: bool = False
    rounds: int = 1
    reuse: bool = False
    check: bool = False
    max_result_mb: int = collect.DEFAULT_MAX_RESULT_MB
    judge_timeout: float = 300.0
    judge_memory_mb: int = 4096
    baseline: Path | None = None
    clock: str = "off"
    sandbox: str = "auto"
    sandbox_binds: tuple[str, ...] = ()
    known_issues: bool = True
    xfail_file: Path | None = None
    basetemp: str | None = None
    command_line: tuple[str, ...] = ()
    recover: bool = True


def start(request: Request) -> Spider2Session:
    """The session for a request; raises one of START_ERRORS, with a message that says what to do."""
    loaded = suite.load_suite(request.root)
    diagnosis = suite.missing_data(loaded)
    if diagnosis and not request.check:
        raise suite.SuiteError(diagnosis)
    agent = agents.parse_agent_spec(request.agent, model=request.model, budget_usd=request.budget_usd)
    python_path = import_paths(agent, request)
    secrets = secret_paths(loaded.root, request.out_dir, request.results_dir)
    settings = Settings(
        agent=agent,
        timeout=request.timeout,
        out_dir=request.out_dir,
        strict=request.strict,
        rounds=request.rounds,
        reuse=request.reuse,
        max_result_mb=request.max_result_mb,
        judge_timeout=request.judge_timeout,
        judge_memory_mb=request.judge_memory_mb,
        submission_dir=request.results_dir,
        check=request.check,
        baseline=request.baseline,
        clock=parse_clock(request.clock, request.invocation_dir, [i.instance_id for i in loaded.instances]),
        python_path=python_path,
        secrets=secrets,
    )
    mode_class = mode_for(request.check, request.results_dir)
    shown = (python_path if agent.kind == "python" else ()) + agents.template_paths(agent)
    refuse_secret_paths(shown, secrets)
    sandbox = choose_sandbox(request.sandbox, binds=request.sandbox_binds,
                             hidden=secrets + temp_paths(request.basetemp), read_only=shown)
    if mode_class is RunMode:
        check_agent_can_start(agent, loaded, sandbox)
    runs = mode_class.runs_agents
    state = Spider2Session(
        settings=settings,
        suite=loaded,
        sandbox=sandbox,
        provenance=collect_provenance(
            suite_root=loaded.root, instruction_file=loaded.instructions_path,
            evaluation_file=loaded.evaluation_path, agent=str(agent) if runs else "",
            isolation=sandbox.isolation if runs else "", clock=settings.clock.label if runs else "off",
            verdict="strict" if request.strict else "official", command_line=list(request.command_line),
        ),
        mode_class=mode_class,
        known_issues=known_issues(request, loaded),
        submission=collect.read_submission(request.results_dir) if request.results_dir else None,
        baseline=read_baseline(request.baseline) if request.baseline is not None else None,
    )
    state.mode.open_folders()
    if request.recover:
        state.mode.recover()
    return state


def import_paths(agent: agents.AgentSpec, request: Request) -> tuple[Path, ...]:
    """Where a `python:` agent is imported from (the rootdir and invocation folder first), checked now."""
    roots = tuple(dict.fromkeys([request.invocation_dir, request.rootdir]))
    if agent.kind != "python":
        return roots
    agents.load_callable(agent.value, roots)
    return tuple(dict.fromkeys([*roots, *filter(None, [agents.module_root(agent.value)])]))


def refuse_secret_paths(shown: tuple[Path, ...], secrets: tuple[Path, ...]) -> None:
    """An agent's own files may not lie inside the Spider2 tree or a results folder: its sandbox would show them."""
    for path in shown:
        inside = next((secret for secret in secrets if Path(os.path.realpath(path)).is_relative_to(secret)), None)
        if inside is not None:
            raise agents.AgentSpecError(
                f"--spider2-agent names {path}, which lies inside {inside} (the Spider2 tree, the demo cache or a "
                "results folder): an agent must never see that folder; keep the agent's files elsewhere"
            )


def check_agent_can_start(agent: agents.AgentSpec, loaded: suite.Suite, sandbox: Sandbox) -> None:
    if agent.kind == "reference" and not {i.instance_id for i in loaded.instances} <= set(demo.DEMO_INSTANCE_IDS):
        raise agents.AgentSpecError("the reference agent only solves the embedded demo suite: run it with "
                                    "--spider2-demo")
    env = {"PATH": agents.environment.agent_path(os.environ.get("PATH", ""))}
    word = agents.command_word(agent)
    problem = agents.startup_problem(agent, env) or (hidden_command(sandbox, word, env) if word else None)
    if problem:
        raise agents.AgentSpecError(f"--spider2-agent {agent}: {problem}")


def known_issues(request: Request, loaded: suite.Suite) -> dict[str, suite.KnownIssue]:
    """The shipped registry (unless turned off) and the user's xfail file; an instance in both keeps all reasons."""
    registries = []
    if request.known_issues:
        registries.append(suite.read_known_issues(suite.KNOWN_ISSUES, with_action=True))
    if request.xfail_file is not None:
        own = suite.read_known_issues(request.xfail_file, with_action=False)
        suite.check_known_ids(own, loaded, request.xfail_file)
        registries.append(own)
    return suite.merge_known_issues(*registries)


def secret_paths(suite_root: Path, out_dir: Path, results_dir: Path | None) -> tuple[Path, ...]:
    """Paths that lead to the gold or to results: never named to an agent, never visible in its sandbox."""
    return real_paths([suite_root, out_dir, results_dir, demo.default_cache_dir()])


def temp_paths(basetemp: str | None) -> tuple[Path, ...]:
    """pytest's temporary folders, where other instances' workspaces lie: never visible in an agent's sandbox."""
    temp_root = Path(os.environ.get("PYTEST_DEBUG_TEMPROOT") or tempfile.gettempdir())
    return real_paths([temp_root / f"pytest-of-{current_user()}", basetemp])


def real_paths(paths: list[Path | str | None]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(Path(os.path.realpath(p)) for p in paths if p))


def current_user() -> str:
    try:
        return getpass.getuser()
    except (ImportError, KeyError, OSError):
        return "unknown"
