"""Stage 3: run the configured agent in a workspace, under a time limit, keeping its logs."""

from __future__ import annotations

import importlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .suite import Instance

if TYPE_CHECKING:
    import duckdb

BUILTIN_AGENTS = ("noop", "dbt", "gold", "reference", "claude-code")
# dbt phones home on every run (with no network that only costs time) and colours logs meant for files.
QUIET_DBT = {"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
# Plugin settings name the Spider2 tree, and so the way to the gold files.
HIDDEN_VARIABLES = ("SPIDER2_ROOT", "SPIDER2_RESULTS", "SPIDER2_XFAIL")
KILL_GRACE_SECONDS = 3.0


class AgentSpecError(ValueError):
    pass


class AgentRefused(Exception):
    """A built-in agent cannot work on this instance (e.g. `reference` outside the demo suite)."""


@dataclass(frozen=True)
class AgentSpec:
    kind: str
    value: str = ""
    model: str = "sonnet"
    budget_usd: float | None = None

    def __str__(self) -> str:
        return self.kind if not self.value else f"{self.kind}:{self.value}"


@dataclass
class AgentContext:
    """What an agent is given: the task, its private project and a deadline. Never the gold."""

    instance_id: str
    instruction: str
    project_dir: Path
    db_path: Path
    log_dir: Path
    deadline: float
    env: dict[str, str] = field(default_factory=dict)
    timed_out: bool = False
    cost_usd: float | None = None
    turns: int | None = None

    @property
    def seconds_left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def run(self, command: str | Sequence[str], *, log_name: str = "agent", stdout_name: str | None = None) -> int:
        """Run a command in the project with the agent's environment; kill its process group at the deadline."""
        returncode, timed_out = run_process(
            command,
            cwd=self.project_dir,
            env=self.env,
            seconds=self.seconds_left,
            stdout_path=self.log_dir / (stdout_name or f"{log_name}.stdout"),
            stderr_path=self.log_dir / f"{log_name}.stderr",
        )
        self.timed_out = self.timed_out or timed_out
        return returncode

    def to_json(self) -> str:
        """The context for a child process; the environment is left out (the child inherits it, and argv is public)."""
        data = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items() if k != "env"}
        data["seconds_left"] = self.seconds_left
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> AgentContext:
        data = json.loads(text)
        data["deadline"] = time.monotonic() + data.pop("seconds_left")
        for name in ("project_dir", "db_path", "log_dir"):
            data[name] = Path(data[name])
        return cls(**data, env=dict(os.environ))


@dataclass
class AgentOutcome:
    """How an agent run ended."""

    agent: str
    returncode: int | None
    timed_out: bool
    seconds: float
    error: str | None = None
    log_dir: Path | None = None
    cost_usd: float | None = None
    turns: int | None = None
    reused: bool = False

    @property
    def failed(self) -> bool:
        return self.timed_out or self.error is not None or bool(self.returncode)

    def describe(self) -> str:
        if self.timed_out:
            return f"agent {self.agent} timed out after {self.seconds:.0f} s and was killed"
        if self.error:
            return f"agent {self.agent} failed: {self.error}"
        if self.returncode:
            return f"agent {self.agent} exited with status {self.returncode}"
        if self.reused:
            return "agent skipped: the result already in the results folder was judged again (--spider2-reuse)"
        return f"agent {self.agent} finished in {self.seconds:.1f} s"

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of each agent log, for a failing test's report."""
        if self.log_dir is None or not self.log_dir.is_dir():
            return ""
        parts = []
        for log in sorted(self.log_dir.iterdir()):
            text = log.read_text(encoding="utf-8", errors="replace").rstrip()
            if text:
                tail = "\n".join(text.splitlines()[-lines:])
                parts.append(f"--- last {lines} lines of {log} ---\n{tail}")
        return "\n".join(parts)


def parse_agent_spec(text: str, *, model: str = "sonnet", budget_usd: float | None = None) -> AgentSpec:
    """`noop`, `dbt`, `gold`, `reference`, `claude-code`, `cmd:TEMPLATE` or `python:module:function`."""
    text = text.strip()
    if text in BUILTIN_AGENTS:
        return AgentSpec(text, model=model, budget_usd=budget_usd)
    kind, _, value = text.partition(":")
    if kind == "cmd" and value.strip():
        return AgentSpec("cmd", value)
    if kind == "python" and valid_callable_path(value):
        return AgentSpec("python", value)
    raise AgentSpecError(
        f"unknown agent {text!r}: use one of {', '.join(BUILTIN_AGENTS)}, 'cmd:<shell command template>' "
        "or 'python:<package.module>:<function>'"
    )


def valid_callable_path(value: str) -> bool:
    module, _, function = value.partition(":")
    return bool(module) and function.isidentifier()


def load_callable(path: str) -> Callable[[AgentContext], Any]:
    module_name, _, function_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise AgentSpecError(f"python agent {path!r}: cannot import {module_name!r} ({error})") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise AgentSpecError(f"python agent {path!r}: {module_name} has no callable {function_name!r}")
    return function


def agent_environment(instance: Instance, project_dir: Path, db_path: Path) -> dict[str, str]:
    """The caller's environment without anything that leads to the Spider2 tree, plus the task variables."""
    tree = str(instance.suite_root)
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in HIDDEN_VARIABLES and tree not in value and not name.startswith("PYTEST_")
    }
    env.update(QUIET_DBT)
    env.update(
        PWD=str(project_dir),
        SPIDER2_INSTANCE_ID=instance.instance_id,
        SPIDER2_INSTRUCTION=instance.instruction,
        SPIDER2_PROJECT_DIR=str(project_dir),
        SPIDER2_DB_PATH=str(db_path),
    )
    return env


def run_process(
    command: str | Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    seconds: float,
    stdout_path: Path,
    stderr_path: Path,
) -> tuple[int, bool]:
    """Run a command in its own process group with closed stdin; return (status, timed out).

    Output is appended to the two log files. The whole group is killed at the deadline and also after a
    normal exit, so background children never outlive the agent.
    """
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    with open(stdout_path, "ab") as out, open(stderr_path, "ab") as err:
        process = subprocess.Popen(
            command,
            shell=isinstance(command, str),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=max(seconds, 0.001))
            timed_out = False
        except subprocess.TimeoutExpired:
            returncode, timed_out = None, True
        finally:
            kill_group(process)
    return (process.returncode if returncode is None else returncode), timed_out


def kill_group(process: subprocess.Popen) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            continue
        if sig is signal.SIGTERM and not group_alive(process.pid):
            break


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def dbt_executable() -> str | None:
    """The dbt installed beside this Python (its virtualenv), else the one on PATH, else None."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.is_file() else shutil.which("dbt")


def dbt_command(*arguments: str) -> list[str]:
    return [dbt_executable() or "dbt", *arguments, "--profiles-dir", ".", "--project-dir", "."]


def fill_template(template: str, context: AgentContext) -> str:
    """Replace the known `{placeholder}`s with shell-quoted values; other braces are left alone."""
    values = {
        "instruction": context.instruction,
        "instance_id": context.instance_id,
        "project_dir": str(context.project_dir),
        "db_path": str(context.db_path),
    }
    for name, value in values.items():
        template = template.replace("{" + name + "}", shlex.quote(value))
    return template


def run_noop(context: AgentContext, instance: Instance) -> int:
    return 0


def run_dbt(context: AgentContext, instance: Instance) -> int:
    return context.run(dbt_command("build"))


def run_cmd(template: str) -> Callable[[AgentContext, Instance], int]:
    def run(context: AgentContext, instance: Instance) -> int:
        return context.run(fill_template(template, context))

    return run


def run_python(path: str) -> Callable[[AgentContext, Instance], int]:
    """Call `module:function` in a child Python, so the deadline can kill it like any other agent."""

    def run(context: AgentContext, instance: Instance) -> int:
        context.env.setdefault("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
        return context.run([sys.executable, "-m", "pytest_spider2dbt.agents", path, context.to_json()])

    return run


def run_reference(context: AgentContext, instance: Instance) -> int:
    """Write the demo's reference solution into the project and build it."""
    from . import demo

    if not demo.write_solution(instance.instance_id, context.project_dir):
        raise AgentRefused(
            f"the reference agent only solves the embedded demo suite (--spider2-demo); "
            f"{instance.instance_id} is not one of its instances"
        )
    return context.run(dbt_command("run"))


def run_gold(context: AgentContext, instance: Instance) -> int:
    """Oracle: copy the graded gold tables into the project's database (a self-check of the harness)."""
    gold = instance.gold_path
    if gold is None or not gold.is_file():
        raise AgentRefused(f"the gold agent needs the gold database of {instance.instance_id}, and it is missing")
    import duckdb  # imported on use: the plugin loads in every pytest run and must start fast

    tables = instance.checks.condition_tabs if instance.checks else None
    with duckdb.connect(str(context.db_path)) as connection:
        connection.execute(f"ATTACH '{escape_literal(str(gold))}' AS spider2_gold (READ_ONLY)")
        if tables is None:
            tables = [row[0] for row in connection.execute("SHOW TABLES FROM spider2_gold.main").fetchall()]
        for table in tables:
            drop_existing(connection, table)
            connection.execute(f"CREATE TABLE main.{table} AS SELECT * FROM spider2_gold.main.{table}")
        connection.execute("DETACH spider2_gold")
    return 0


def escape_literal(text: str) -> str:
    return text.replace("'", "''")


def drop_existing(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    rows = connection.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = 'main' AND lower(table_name) = lower(?)",
        [name],
    ).fetchall()
    for (table_type,) in rows:
        connection.execute(f"DROP {'VIEW' if table_type == 'VIEW' else 'TABLE'} main.{name}")


def run_claude_code(spec: AgentSpec) -> Callable[[AgentContext, Instance], int]:
    """Claude Code, headless, with the instruction as its prompt; its event stream goes to agent.jsonl."""

    def run(context: AgentContext, instance: Instance) -> int:
        command = ["claude", "--print", "--output-format", "stream-json", "--verbose",
                   "--permission-mode", "bypassPermissions", "--model", spec.model]
        if spec.budget_usd is not None:
            command += ["--max-budget-usd", f"{spec.budget_usd:g}"]
        returncode = context.run([*command, context.instruction], stdout_name="agent.jsonl")
        final = last_result_event(context.log_dir / "agent.jsonl")
        if final:
            context.cost_usd = final.get("total_cost_usd")
            context.turns = final.get("num_turns")
        return returncode

    return run


def last_result_event(stream: Path) -> dict[str, Any] | None:
    """The final `{"type": "result", ...}` event of a Claude Code stream-json log, if it got that far."""
    if not stream.is_file():
        return None
    final = None
    for line in stream.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and event.get("type") == "result":
            final = event
    return final


def builtin_runner(spec: AgentSpec) -> Callable[[AgentContext, Instance], int]:
    if spec.kind == "cmd":
        return run_cmd(spec.value)
    if spec.kind == "python":
        return run_python(spec.value)
    if spec.kind == "claude-code":
        return run_claude_code(spec)
    return {"noop": run_noop, "dbt": run_dbt, "gold": run_gold, "reference": run_reference}[spec.kind]


def run_agent(
    name: str, runner: Callable[[AgentContext], int | None], context: AgentContext
) -> AgentOutcome:
    """Run an agent callable, timing it and turning its exceptions into an outcome."""
    started = time.monotonic()
    error = None
    returncode: int | None = None
    try:
        returncode = runner(context)
    except AgentRefused as refusal:
        error = str(refusal)
    except Exception as exception:  # an agent's crash is that instance's result, never the sweep's
        error = f"{type(exception).__name__}: {exception}"
    return AgentOutcome(
        agent=name,
        returncode=returncode if isinstance(returncode, int) else 0,
        timed_out=context.timed_out or time.monotonic() > context.deadline,
        seconds=time.monotonic() - started,
        error=error,
        log_dir=context.log_dir,
        cost_usd=context.cost_usd,
        turns=context.turns,
    )


def main(argv: list[str]) -> int:
    """Entry point of the child Python that runs a `python:` agent."""
    path, context_json = argv
    result = load_callable(path)(AgentContext.from_json(context_json))
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
