"""Hooks this plugin adds; implement them in a conftest.py or a plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .agents import AgentContext, AgentOutcome


@pytest.hookspec(firstresult=True)
def pytest_spider2dbt_run_agent(context: AgentContext) -> AgentOutcome | int | None:
    """Run an agent for one instance; return its exit status (or an AgentOutcome), or None to pass.

    ``context`` is a :class:`pytest_spider2dbt.AgentContext`: ``instance_id``, ``instruction``, ``project_dir``
    (the private workspace; work there), ``db_path`` (the DuckDB file the project's profile writes), ``env``,
    ``seconds_left``, ``run(command)``, which runs a command in the project under the time limit and the sandbox,
    and ``report(cost_usd=..., turns=...)``. A hook runs inside pytest, where nothing can kill it: keep the deadline
    by running the agent's commands with ``context.run``.

    The plugin's own implementation, registered last (``trylast``), runs the agent chosen with
    ``--spider2-agent``; return a value from a conftest.py to replace it for an instance.
    """
