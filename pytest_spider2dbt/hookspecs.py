"""Hooks this plugin adds; implement them in a conftest.py or a plugin."""

from __future__ import annotations

import pytest


@pytest.hookspec(firstresult=True)
def pytest_spider2dbt_run_agent(context):
    """Run an agent for one instance and return its exit status (an int), or None to leave it to the next one.

    ``context`` is a :class:`pytest_spider2dbt.AgentContext`: ``instance_id``, ``instruction``, ``project_dir``
    (the private workspace; work there), ``db_path`` (the DuckDB file the project's profile writes), ``env``,
    ``seconds_left`` and ``run(command)``, which runs a command in the project under the time limit. The plugin's
    own implementation runs the agent chosen with ``--spider2-agent``; return a value to replace it.
    """
