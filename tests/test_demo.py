"""The embedded demo suite: built by real dbt, cached, safe to build from several processes at once."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pytest_spider2dbt import demo

PACKAGE_PARENT = Path(demo.__file__).resolve().parents[1]

# Run in a child process: build a one-instance demo root (enough to race on the lock, and quick) and say how
# many times this process built it.
BUILD_AND_REPORT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from pytest_spider2dbt import demo

    demo.DEMO_INSTANCE_IDS = ("lemonade001",)
    builds = []
    build_root = demo._build_root

    def counting_build_root(root):
        builds.append(root)
        build_root(root)

    demo._build_root = counting_build_root
    root = demo.demo_root(Path(sys.argv[1]))
    print(json.dumps({"root": str(root), "builds": len(builds)}))
    """
)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def grading(root: Path) -> dict[str, dict[str, Any]]:
    """Instance id -> the evaluator parameters of the built root."""
    entries = read_jsonl(root / "spider2-dbt" / "evaluation_suite" / "gold" / "spider2_eval.jsonl")
    return {entry["instance_id"]: entry["evaluation"]["parameters"] for entry in entries}


def example_dir(root: Path, instance_id: str) -> Path:
    return root / "spider2-dbt" / "examples" / instance_id


def start_database(root: Path, instance_id: str) -> Path:
    project = example_dir(root, instance_id)
    return project / demo.profile_database_path(project)


def gold_database(root: Path, instance_id: str) -> Path:
    gold_name = grading(root)[instance_id]["gold"]
    return root / "spider2-dbt" / "evaluation_suite" / "gold" / instance_id / gold_name


def table_names(database: Path) -> set[str]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return {row[0] for row in connection.execute("SHOW TABLES").fetchall()}


def table_rows(database: Path, table: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(f"SELECT * FROM {table}").fetchall()


def column_types(database: Path, table: str) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return [row[1] for row in connection.execute(f"DESCRIBE {table}").fetchall()]


def sorted_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=lambda row: [(value is None, str(value)) for value in row])


def leftover_dbt_artifacts(root: Path) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if (path.is_dir() and path.name in {"target", "logs"}) or path.name.endswith(".duckdb.wal")
    ]


@pytest.fixture(scope="session")
def built_root(demo_cache: Path) -> Path:
    """The demo root of this test session (built once, in a temporary cache)."""
    return demo.demo_root(demo_cache)


def test_demo_has_at_least_four_instances_with_a_solution_each() -> None:
    assert len(demo.DEMO_INSTANCE_IDS) >= 4
    for instance_id in demo.DEMO_INSTANCE_IDS:
        assert demo.solution_files(instance_id), instance_id


def test_solution_files_of_a_non_demo_instance_are_empty() -> None:
    assert demo.solution_files("playbook001") == {}


def test_every_missing_model_is_documented_in_the_example_yaml() -> None:
    for instance_id in demo.DEMO_INSTANCE_IDS:
        example = demo.DEMO_SUITE / "examples" / instance_id
        yaml_text = "\n".join(path.read_text() for path in example.rglob("*.yml"))
        for relative_path in demo.solution_files(instance_id):
            model = Path(relative_path).stem
            assert f"- name: {model}\n" in yaml_text, f"{instance_id}: {model} is not documented"


@pytest.mark.long
def test_root_has_the_spider2_layout(built_root: Path) -> None:
    instructions = read_jsonl(built_root / "spider2-dbt" / "examples" / "spider2-dbt.jsonl")
    assert [entry["instance_id"] for entry in instructions] == list(demo.DEMO_INSTANCE_IDS)
    assert all(entry["instruction"] and entry["type"] == "DBT" for entry in instructions)
    evaluations = read_jsonl(built_root / "spider2-dbt" / "evaluation_suite" / "gold" / "spider2_eval.jsonl")
    assert [entry["instance_id"] for entry in evaluations] == list(demo.DEMO_INSTANCE_IDS)
    for entry in evaluations:
        assert entry["evaluation"]["func"] == "duckdb_match"
        parameters = entry["evaluation"]["parameters"]
        assert set(parameters) == {"gold", "condition_tabs", "condition_cols", "ignore_orders"}
        assert len(parameters["condition_tabs"]) == len(parameters["condition_cols"]) == len(
            parameters["ignore_orders"]
        )


def test_second_call_reuses_the_cached_root(
    built_root: Path, demo_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_rebuild(root: Path) -> None:
        raise AssertionError("the cached demo root was rebuilt")

    monkeypatch.setattr(demo, "_build_root", no_rebuild)
    started = time.perf_counter()
    assert demo.demo_root(demo_cache) == built_root
    assert time.perf_counter() - started < 1.0


def test_an_edit_to_the_demo_sources_changes_the_cache_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suite_copy = tmp_path / "demo_suite"
    shutil.copytree(demo.DEMO_SUITE, suite_copy)
    monkeypatch.setattr(demo, "DEMO_SUITE", suite_copy)
    before = demo.demo_suite_key()
    (suite_copy / "solutions" / "lemonade001" / "models" / "marts" / "daily_stand_revenue.sql").write_text("select 1")
    assert demo.demo_suite_key() != before


def test_default_cache_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPIDER2_DEMO_CACHE", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert demo.default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("SPIDER2_DEMO_CACHE")
    assert demo.default_cache_dir() == tmp_path / "xdg" / "pytest-spider2dbt"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert demo.default_cache_dir() == tmp_path / "home" / ".cache" / "pytest-spider2dbt"


@pytest.mark.long
def test_concurrent_builds_yield_one_complete_root(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    python_path = os.pathsep.join(filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")]))
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", BUILD_AND_REPORT, str(cache)],
            env={**os.environ, "PYTHONPATH": python_path},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = [process.communicate(timeout=600) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], [stderr for _, stderr in outcomes]
    reports = [json.loads(stdout) for stdout, _ in outcomes]
    assert reports[0]["root"] == reports[1]["root"]
    assert sum(report["builds"] for report in reports) == 1
    root = Path(reports[0]["root"])
    assert sorted(path.name for path in cache.iterdir() if path.is_dir()) == [root.name]
    assert start_database(root, "lemonade001").is_file()
    assert gold_database(root, "lemonade001").is_file()
    assert leftover_dbt_artifacts(root) == []


@pytest.mark.long
def test_failed_build_names_the_instance_shows_dbt_output_and_leaves_no_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "DEMO_INSTANCE_IDS", ("lemonade001",))
    broken_solution = {"models/marts/daily_stand_revenue.sql": "select * from nowhere_table"}
    monkeypatch.setattr(demo, "solution_files", lambda instance_id: broken_solution)
    with pytest.raises(demo.DemoBuildError) as raised:
        demo.demo_root(tmp_path)
    assert raised.value.instance_id == "lemonade001"
    assert "demo instance lemonade001" in str(raised.value)
    assert "nowhere_table" in str(raised.value)
    assert [path.name for path in tmp_path.iterdir()] == [f"{demo.demo_suite_key()}.lock"]


def test_examples_hold_a_start_database_and_nothing_an_agent_should_not_see(built_root: Path) -> None:
    for instance_id in demo.DEMO_INSTANCE_IDS:
        project = example_dir(built_root, instance_id)
        assert start_database(built_root, instance_id).is_file()
        assert [path.name for path in project.rglob("*.duckdb")] == [start_database(built_root, instance_id).name]
        for relative_path in demo.solution_files(instance_id):
            assert not (project / relative_path).exists(), f"{instance_id}: solution {relative_path} is shipped"
    assert leftover_dbt_artifacts(built_root) == []


def test_start_databases_hold_raw_data_but_not_the_graded_tables(built_root: Path) -> None:
    for instance_id, parameters in grading(built_root).items():
        database = start_database(built_root, instance_id)
        raw_tables = table_names(database)
        assert raw_tables, instance_id
        assert all(table_rows(database, table) for table in raw_tables)
        assert raw_tables.isdisjoint(parameters["condition_tabs"]), instance_id


def test_gold_databases_hold_every_graded_table_and_column(built_root: Path) -> None:
    for instance_id, parameters in grading(built_root).items():
        gold = gold_database(built_root, instance_id)
        for table, columns in zip(parameters["condition_tabs"], parameters["condition_cols"], strict=True):
            assert table in table_names(gold), f"{instance_id}: {table}"
            assert table_rows(gold, table), f"{instance_id}: {table} is empty"
            assert max(columns) < len(column_types(gold, table)), f"{instance_id}: {table}"


def test_grading_exercises_several_tables_column_subsets_order_and_typed_values(built_root: Path) -> None:
    parameters = grading(built_root).values()
    assert any(len(entry["condition_tabs"]) >= 2 for entry in parameters)
    assert any(False in entry["ignore_orders"] for entry in parameters)
    graded_types: set[str] = set()
    graded_nulls = 0
    for instance_id, entry in grading(built_root).items():
        gold = gold_database(built_root, instance_id)
        for table, columns in zip(entry["condition_tabs"], entry["condition_cols"], strict=True):
            types = column_types(gold, table)
            assert len(columns) < len(types), f"{instance_id}: {table} is graded on all its columns"
            graded_types.update(types[position].split("(")[0] for position in columns)
            graded_nulls += sum(row[position] is None for row in table_rows(gold, table) for position in columns)
    assert {"DATE", "TIMESTAMP", "DECIMAL"} <= graded_types
    assert graded_nulls > 0
