"""A judge that cannot be fooled or stalled: a result that reads other files is refused (a deliberate difference
from the official evaluator, which `allow_external_access=True` restores), every verdict has a time and a memory
limit, and nothing makes duckdb_match raise or hang."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_match_support import Build, build, judged, official_code, official_score, scratch

from pytest_spider2dbt.categories import JUDGE_CATEGORIES, Category
from pytest_spider2dbt.match import JudgeLimits, duckdb_match

__all__ = ["build", "scratch"]
pytestmark = pytest.mark.parity  # the verdict depends on the pandas and DuckDB versions


@pytest.fixture
def gold(build: Build, scratch: Path) -> str:
    path = build("CREATE TABLE t AS SELECT i AS a, 'x' || i AS b FROM range(3) r(i)")
    with duckdb.connect(path, read_only=True) as connection:
        connection.execute(f"COPY t TO '{scratch / 't.parquet'}'")
        connection.execute(f"COPY t TO '{scratch / 't.csv'}'")
    return path


def pointers(gold: str, scratch: Path) -> dict[str, list[str]]:
    """Results whose graded table only points at another file."""
    return {
        "read_duckdb": [f"CREATE VIEW t AS SELECT * FROM read_duckdb('{gold}', table_name='t')"],
        "read_parquet": [f"CREATE VIEW t AS SELECT * FROM read_parquet('{scratch / 't.parquet'}')"],
        "read_csv in a macro": [
            f"CREATE MACRO copy_of_gold() AS TABLE SELECT * FROM read_csv('{scratch / 't.csv'}')",
            "CREATE VIEW t AS SELECT * FROM copy_of_gold()",
        ],
    }


@pytest.mark.parametrize("kind", ["read_duckdb", "read_parquet", "read_csv in a macro"])
def test_a_table_that_reads_another_file_is_refused(build: Build, scratch: Path, gold: str, kind: str) -> None:
    result = build("CREATE TABLE other AS SELECT 1 AS x", *pointers(gold, scratch)[kind])
    report = duckdb_match(result, gold, ["t"], instance_id="x001")
    assert (report.score, report.category) == (0, Category.RESULT_REFUSED)
    assert "'t'" in report.message and "another file" in report.message
    assert report.tables[0].status == "refused"
    assert str(report).startswith("x001: result_refused — table 't'")


@pytest.mark.parametrize("kind", ["read_duckdb", "read_parquet", "read_csv in a macro"])
def test_allow_external_access_scores_a_pointer_as_the_official_code_does(
    build: Build, scratch: Path, gold: str, kind: str
) -> None:
    result = build(*pointers(gold, scratch)[kind])
    report = duckdb_match(result, gold, ["t"], allow_external_access=True)
    assert report.score == 1
    if official_code() is not None:
        assert official_score(result, gold, ["t"]) == 1


def test_a_refused_table_decides_the_category_before_a_missing_one(build: Build, scratch: Path, gold: str) -> None:
    result = build(*pointers(gold, scratch)["read_parquet"])
    report = duckdb_match(result, gold, ["missing_table", "t"])
    assert report.category == Category.GOLD_MISSING
    two_tables = build("CREATE TABLE t AS SELECT 1 AS a", "CREATE TABLE u AS SELECT 1 AS a")
    result = build(f"CREATE VIEW u AS SELECT * FROM read_parquet('{scratch / 't.parquet'}')")
    report = duckdb_match(result, two_tables, ["t", "u"])
    assert report.category == Category.RESULT_REFUSED and "'u'" in report.message


def test_a_view_over_an_attached_database_is_unreadable_for_both(build: Build, gold: str) -> None:
    result = build(f"ATTACH '{gold}' AS g (READ_ONLY)", "CREATE VIEW t AS SELECT * FROM g.t")
    report = judged(result, gold, ["t"], both_sizes=False)
    assert report.category == Category.TABLE_MISSING and report.tables[0].status == "unreadable"


def test_the_gold_may_read_other_files_as_in_the_official_code(build: Build, scratch: Path, gold: str) -> None:
    pointer_gold = build(f"CREATE VIEW t AS SELECT * FROM read_parquet('{scratch / 't.parquet'}')")
    assert judged(gold, pointer_gold, ["t"], both_sizes=False).score == 1


# ------------------------------------------------------------------------------------------------- limits

SLOW_VIEW = "CREATE VIEW t AS SELECT count(*) AS n FROM range(1000000000000) r(i) WHERE i % 7 = 3"


@pytest.mark.parametrize("slow_side", ["result", "gold"])
def test_a_slow_view_ends_in_judge_timeout(build: Build, slow_side: str) -> None:
    slow, plain = build(SLOW_VIEW), build("CREATE TABLE t AS SELECT 1 AS n")
    result, gold = (slow, plain) if slow_side == "result" else (plain, slow)
    started = time.monotonic()
    report = duckdb_match(result, gold, ["t"], limits=JudgeLimits(timeout_seconds=0.5))
    assert time.monotonic() - started < 10
    assert (report.score, report.category) == (0, Category.JUDGE_TIMEOUT)
    assert "time limit of 0.5 s" in report.message and "'t'" in report.message


def test_a_view_that_needs_too_much_memory_ends_in_judge_out_of_memory(build: Build) -> None:
    gold = build("CREATE TABLE t AS SELECT [1] AS l")
    result = build("CREATE VIEW t AS SELECT list(i) AS l FROM range(50000000) r(i)")
    report = duckdb_match(result, gold, ["t"], limits=JudgeLimits(memory_mb=64))
    assert (report.score, report.category) == (0, Category.JUDGE_OUT_OF_MEMORY)
    assert "64 MB" in report.message


def test_limits_default_to_five_minutes_and_four_gigabytes() -> None:
    assert JudgeLimits() == JudgeLimits(timeout_seconds=300.0, memory_mb=4096)


def test_a_spent_time_limit_stops_before_reading(build: Build) -> None:
    plain = build("CREATE TABLE t AS SELECT 1 AS n")
    report = duckdb_match(plain, plain, ["t"], limits=JudgeLimits(timeout_seconds=0))
    assert report.category == Category.JUDGE_TIMEOUT


# --------------------------------------------------------------------------------------- never an exception


@pytest.mark.parametrize("path", [None, 5, b"\xff", {"a": 1}, "", "/", "relative/missing.duckdb"])
def test_odd_paths_never_raise(build: Build, path: Any) -> None:
    plain = build("CREATE TABLE t AS SELECT 1 AS n")
    for result, gold in ((path, plain), (plain, path)):
        report = duckdb_match(result, gold, ["t"])
        assert report.score == 0 and report.category in JUDGE_CATEGORIES
        assert "\n" not in report.message


def test_a_result_held_open_for_writing_by_this_process(build: Build) -> None:
    plain = build("CREATE TABLE t AS SELECT 1 AS n")
    result = build("CREATE TABLE t AS SELECT 1 AS n")
    with duckdb.connect(result):
        report = duckdb_match(result, plain, ["t"])
        assert report.category in (Category.NO_RESULT_DB, Category.PASSED)
        if official_code() is not None:
            assert official_score(result, plain, ["t"]) == report.score


def test_table_names_with_odd_characters_stay_on_one_line(build: Build) -> None:
    gold = build('CREATE TABLE "line\nbreak" AS SELECT 1 AS n', "CREATE TABLE t AS SELECT 1 AS n")
    result = build('CREATE TABLE "other\nname" AS SELECT 1 AS n', 'CREATE SCHEMA "s\n"',
                   'CREATE TABLE "s\n".t AS SELECT 1')
    for tabs in (None, ["t"]):
        report = duckdb_match(result, gold, tabs, instance_id="x001")
        assert report.score == 0 and "\n" not in report.message
        assert str(report).splitlines()[0].startswith("x001: ")
    assert "'s\\n'.t" in report.message and "'other\\nname'" in report.tables[0].result_tables
