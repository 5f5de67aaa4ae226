"""The embedded demo suite end to end: real dbt, real DuckDB; the reference agent passes, noop fails (the dbt
agent's run on real data is in test_sandbox.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pytest_spider2dbt import demo
from pytest_spider2dbt.match import duckdb_match

DEMO_IDS = sorted(demo.DEMO_INSTANCE_IDS)
pytestmark = pytest.mark.long


def grading(root: Path) -> dict[str, dict[str, Any]]:
    lines = (root / "spider2-dbt" / "evaluation_suite" / "gold" / "spider2_eval.jsonl").read_text().splitlines()
    return {entry["instance_id"]: entry["evaluation"]["parameters"] for entry in map(json.loads, lines)}


def rows_and_types(database: Path, table: str) -> tuple[list[tuple[Any, ...]], list[str]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute(f"SELECT * FROM {table}").fetchall()
        types = [row[1] for row in connection.execute(f"DESCRIBE {table}").fetchall()]
    return rows, types


def sorted_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=lambda row: [(value is None, str(value)) for value in row])


def test_the_reference_agent_rebuilds_every_gold_table_and_passes(pytester, run, demo_cache):
    result = run("--spider2-demo", "--spider2-agent=reference")
    result.assert_outcomes(passed=len(DEMO_IDS))
    result.stdout.fnmatch_lines([f"Spider2-DBT score: {len(DEMO_IDS)}/{len(DEMO_IDS)} (100.0%)"])
    out = pytester.path / "spider2-results"
    root = demo.demo_root(demo_cache)
    for instance_id, parameters in grading(root).items():
        result_db = out / instance_id / parameters["gold"]
        gold = root / "spider2-dbt" / "evaluation_suite" / "gold" / instance_id / parameters["gold"]
        for table, ignore_order in zip(parameters["condition_tabs"], parameters["ignore_orders"], strict=True):
            expected, gold_types = rows_and_types(gold, table)
            actual, result_types = rows_and_types(result_db, table)
            if ignore_order:
                expected, actual = sorted_rows(expected), sorted_rows(actual)
            assert (actual, result_types) == (expected, gold_types), f"{instance_id}: {table}"
        start = root / "spider2-dbt" / "examples" / instance_id / parameters["gold"]
        checks = (parameters["condition_tabs"], parameters["condition_cols"], parameters["ignore_orders"])
        assert duckdb_match(str(start), str(gold), *checks).score == 0, f"{instance_id}: the start already passes"


def test_noop_fails_every_demo_instance_with_a_report(pytester, run):
    result = run("--spider2-demo")
    result.assert_outcomes(failed=len(DEMO_IDS))
    result.stdout.fnmatch_lines([f"Spider2-DBT score: 0/{len(DEMO_IDS)} (0.0%)",
                                 f"*table_missing*{len(DEMO_IDS)}*"])
    result.stdout.fnmatch_lines(["lemonade001: table_missing — table 'daily_stand_revenue' *"])


def test_the_demo_root_is_accepted_by_spider2_root(pytester, run, demo_cache):
    result = run(f"--spider2-root={demo.demo_root(demo_cache)}", "--spider2-agent=gold", "-k", "clinic001")
    result.assert_outcomes(passed=1)
