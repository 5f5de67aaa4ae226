"""The built-in agents. Each takes the spec, the context and the instance and returns an AgentOutcome."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..dbt import dbt_command
from ..duckdb_files import sql_string
from ..suite import Instance
from . import claude
from .context import AgentContext, AgentOutcome
from .processes import ProcessResult
from .spec import AgentSpec

if TYPE_CHECKING:
    import duckdb


class AgentRefused(Exception):
    """A built-in agent cannot work on this instance (e.g. `gold` without a gold file)."""


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


def run_noop(spec: AgentSpec, context: AgentContext, instance: Instance) -> ProcessResult | None:
    return None


def run_dbt(spec: AgentSpec, context: AgentContext, instance: Instance) -> ProcessResult | None:
    return context.run_command(dbt_command("build"))


def run_cmd(spec: AgentSpec, context: AgentContext, instance: Instance) -> ProcessResult | None:
    return context.run_command(fill_template(spec.value, context))


def run_python(spec: AgentSpec, context: AgentContext, instance: Instance) -> ProcessResult | None:
    """Call `module:function` in a child Python, so the deadline can kill it like any other agent."""
    return context.run_command([sys.executable, "-m", "pytest_spider2dbt.agents.child", spec.value, context.to_json()])


def run_claude_code(spec: AgentSpec, context: AgentContext, instance: Instance) -> ProcessResult | None:
    """Claude Code with the instruction as its prompt; its event stream goes to agent.jsonl."""
    result = context.run_command(claude.claude_command(spec, context.instruction), stdout_name=claude.STREAM_LOG)
    final = claude.last_result_event(context.log_dir / claude.STREAM_LOG)
    if final is not None:
        usage = claude.usage_of(final)
        context.report(cost_usd=usage.cost_usd, turns=usage.turns, input_tokens=usage.input_tokens,
                       output_tokens=usage.output_tokens, model=usage.model)
    return result


def run_reference(spec: AgentSpec, context: AgentContext, instance: Instance) -> ProcessResult | None:
    """Write the demo's reference solution into the project and build it."""
    from .. import demo

    demo.write_solution(instance.instance_id, context.project_dir)
    return context.run_command(dbt_command("run"))


def run_gold(spec: AgentSpec, context: AgentContext, instance: Instance) -> ProcessResult | None:
    """Oracle: copy the graded gold tables into the project's database (a self-check of the harness).

    It runs in the harness, outside any sandbox, because it must read the gold; it is never an agent under test.
    """
    gold = instance.gold_path
    if gold is None or not gold.is_file():
        raise AgentRefused(f"the gold agent needs the gold database of {instance.instance_id}, and it is missing")
    import duckdb  # imported on use: the plugin loads in every pytest run and must start fast

    tables = instance.checks.condition_tabs if instance.checks else None
    with duckdb.connect(str(context.db_path)) as connection:
        connection.execute(f"ATTACH {sql_string(str(gold))} AS spider2_gold (READ_ONLY)")
        if tables is None:
            tables = [row[0] for row in connection.execute("SHOW TABLES FROM spider2_gold.main").fetchall()]
        for table in tables:
            drop_existing(connection, table)
            connection.execute(f"CREATE TABLE main.{table} AS SELECT * FROM spider2_gold.main.{table}")
        connection.execute("DETACH spider2_gold")
    return None


def drop_existing(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    rows = connection.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = 'main' AND lower(table_name) = lower(?)",
        [name],
    ).fetchall()
    for (table_type,) in rows:
        connection.execute(f"DROP {'VIEW' if table_type == 'VIEW' else 'TABLE'} main.{name}")


Runner = Callable[[AgentSpec, AgentContext, Instance], "ProcessResult | None"]
RUNNERS: dict[str, Runner] = {
    "noop": run_noop,
    "dbt": run_dbt,
    "gold": run_gold,
    "reference": run_reference,
    "claude-code": run_claude_code,
    "cmd": run_cmd,
    "python": run_python,
}


def run_builtin(spec: AgentSpec, context: AgentContext, instance: Instance) -> AgentOutcome:
    """Run the configured built-in agent; its crash or refusal is that instance's result, never the sweep's."""
    started = time.monotonic()
    try:
        result = RUNNERS[spec.kind](spec, context, instance)
    except AgentRefused as refusal:
        return crashed(str(spec), str(refusal), context, started)
    except Exception as exception:
        return crashed(str(spec), f"{type(exception).__name__}: {exception}", context, started)
    return outcome_of_process(str(spec), result, context, started)


def crashed(name: str, error: str, context: AgentContext, started: float) -> AgentOutcome:
    return AgentOutcome(name, None, False, time.monotonic() - started, context.timeout, error=error,
                        log_dir=context.log_dir)


def outcome_of_process(name: str, result: ProcessResult | None, context: AgentContext, started: float) -> AgentOutcome:
    seconds = time.monotonic() - started
    if result is None:
        return AgentOutcome(name, 0, False, seconds, context.timeout, log_dir=context.log_dir)
    return AgentOutcome(
        name,
        result.returncode,
        result.timed_out,
        seconds,
        context.timeout,
        error=result.why_not_started,
        started=result.started,
        log_dir=context.log_dir,
    )


def outcome_of_hook(status: int, context: AgentContext, started: float) -> AgentOutcome:
    """A `pytest_spider2dbt_run_agent` hook returned an exit status: it ran in-process, where nothing can kill it."""
    seconds = time.monotonic() - started
    return AgentOutcome(
        "pytest_spider2dbt_run_agent hook",
        status,
        time.monotonic() >= context.deadline,
        seconds,
        context.timeout,
        killable=False,
        log_dir=context.log_dir,
    )
