"""The report: what the model carries for a renderer, its JSON round trip, and the text rendering."""

from __future__ import annotations

import json

import pytest
from test_match_support import Build, build, judged, scratch, table

from pytest_spider2dbt.categories import Category
from pytest_spider2dbt.match import ColumnReport, MatchReport, TableReport, duckdb_match
from pytest_spider2dbt.match.render import MAX_HEADLINE_LENGTH, render
from pytest_spider2dbt.match.report import MAX_FAILING_COLUMNS_SHOWN, SAMPLE_SIZE, Sample

__all__ = ["build", "scratch"]
pytestmark = pytest.mark.parity  # the verdict depends on the pandas and DuckDB versions


def round_trip(report: MatchReport) -> MatchReport:
    return MatchReport.from_dict(json.loads(json.dumps(report.to_dict())))


# ------------------------------------------------------------------------------------------------ the model


def test_failing_column_names_the_same_named_result_column_with_sorted_samples(build: Build) -> None:
    gold = build(table("t", "id INTEGER, amount DOUBLE", "1, 10.0", "2, 20.0", "3, 30.0"))
    result = build(table("t", "ID INTEGER, AMOUNT DOUBLE", "3, 30.0", "1, 10.5", "2, 20.0"))
    report = judged(result, gold, ["t"], [[0, 1]], [True], both_sizes=False)
    column = report.tables[0].columns[1]
    assert not column.matched and column.candidate == "AMOUNT" and column.candidate_reason == "same name"
    assert (column.agreeing, column.compared) == (2, 3)
    assert column.samples == [Sample(0, "10.0", "10.5")] and column.positions_sorted
    text = str(report)
    assert "'amount'" in text and "'AMOUNT'" in text and "10.5" in text
    assert "sorted pos" in text and "each column was sorted on its own" in text


def test_failing_column_without_namesake_gets_the_closest_result_column(build: Build) -> None:
    gold = build(table("t", "price DOUBLE", "1.0", "2.0", "3.0", "4.0"))
    result = build(table("t", "x DOUBLE, y DOUBLE", "9.0, 1.0", "8.0, 2.0", "7.0, 3.0", "6.0, 4.5"))
    column = judged(result, gold, ["t"], [[0]], [False], both_sizes=False).tables[0].columns[0]
    assert (column.candidate, column.candidate_reason, column.agreeing) == ("y", "closest", 3)
    assert column.samples == [Sample(3, "4.0", "4.5")] and not column.positions_sorted


def test_a_table_records_rows_order_flag_and_partners(build: Build) -> None:
    gold = build(table("t", "a INTEGER, b VARCHAR", "1, 'x'", "2, 'y'"))
    result = build(table("t", "b VARCHAR, a INTEGER, extra DOUBLE", "'x', 1, 0.5", "'y', 2, 0.5"))
    graded = duckdb_match(result, gold, ["t"], [[1, 0]], [True]).tables[0]
    assert (graded.name, graded.status, graded.ignore_order, graded.gold_rows, graded.result_rows) == (
        "t", "passed", True, 2, 2)
    assert [(c.index, c.name, c.result_column, c.result_index) for c in graded.columns] == [
        (1, "b", "b", 0), (0, "a", "a", 1)]


def test_samples_are_capped(build: Build) -> None:
    gold = build(table("t", "a INTEGER", *[f"{i}" for i in range(12)]))
    result = build(table("t", "a INTEGER", *[f"{i + 100}" for i in range(12)]))
    column = duckdb_match(result, gold, ["t"]).tables[0].columns[0]
    assert len(column.samples) == SAMPLE_SIZE and column.agreeing == 0 and column.compared == 12


def test_strict_pairs_rows_within_tolerance(build: Build) -> None:
    gold = build(table("t", "a DOUBLE, b DOUBLE", "1.0, 5.0", "1.005, 3.0"))
    result = build(table("t", "a DOUBLE, b DOUBLE", "1.004, 5.0", "1.0, 3.0"))
    report = judged(result, gold, ["t"], [[]], [True], both_sizes=False)
    assert report.score == 1 and report.strict_score == 1
    swapped = build(table("t", "a DOUBLE, b DOUBLE", "1.004, 3.0", "1.0, 3.0"))
    assert judged(swapped, gold, ["t"], [[]], [True], both_sizes=False).score == 0


def test_strict_prefers_the_same_named_column_among_identical_ones(build: Build) -> None:
    gold = build(table("t", "first BOOLEAN, last BOOLEAN", "TRUE, FALSE", "FALSE, TRUE"))
    report = duckdb_match(gold, gold, ["t"], [[]], [True])
    assert [c.result_column for c in report.tables[0].columns] == ["first", "first"]
    assert [c.strict_partner for c in report.tables[0].columns] == ["first", "last"]
    assert report.strict_score == 1


def test_rows_in_another_pairing_are_named_as_such(build: Build) -> None:
    gold = build(table("t", "a INTEGER, b VARCHAR", "1, 'x'", "2, 'y'"))
    result = build(table("t", "a INTEGER, b VARCHAR", "1, 'y'", "2, 'x'"))
    report = duckdb_match(result, gold, ["t"], None, [True], instance_id="x001")
    assert (report.score, report.strict_score) == (1, 0)
    assert report.tables[0].strict_note.startswith("same values, different pairing of rows")
    assert "same values, different pairing of rows" in str(report).splitlines()[0]


# ------------------------------------------------------------------------------------------- serialisation


def test_reports_survive_a_json_round_trip(build: Build) -> None:
    gold = build(table("t", "a INTEGER, d DATE", "1, '2020-01-01'"), table("u", "s VARCHAR", "'x'"))
    reports = [
        duckdb_match(build(table("t", "a INTEGER, d DATE", "2, '2020-01-01'")), gold, ["t"], [[0, -1]], [True],
                     instance_id="x001"),
        duckdb_match(gold, gold),
        duckdb_match(build(table("u", "s VARCHAR", "'x'")), gold, instance_id="x002"),
        duckdb_match(gold, gold, ["t"], [[5]], None),
        duckdb_match(gold, gold, ["t"], [(0,)], [True]),
        duckdb_match(gold, gold, ["t"], [[True, False]], [True]),
    ]
    categories = [Category.VALUE_MISMATCH, Category.PASSED, Category.TABLE_MISSING, Category.CONFIG_ERROR,
                  Category.CONFIG_ERROR, Category.PASSED]
    for report, category in zip(reports, categories, strict=True):
        assert report.category == category
        rebuilt = round_trip(report)
        assert rebuilt == report and isinstance(rebuilt.category, Category)
        assert all(isinstance(t, TableReport) for t in rebuilt.tables)
        assert all(isinstance(c, ColumnReport) for t in rebuilt.tables for c in t.columns)
    data = reports[0].to_dict()
    assert data["score"] == 0 and data["category"] == "value_mismatch" and data["instance_id"] == "x001"
    assert data["tables"][0]["columns"][0]["samples"] == [{"position": 0, "gold": "1", "result": "2"}]
    assert not reports[0] and bool(reports[1])


# --------------------------------------------------------------------------------------------- rendering


def test_the_first_line_is_the_verdict(build: Build) -> None:
    gold = build(table("daily_stand_revenue", "a INTEGER", "1"))
    result = build(table("stg_sales", "a INTEGER", "1"), table("stg_costs", "a INTEGER", "1"))
    report = duckdb_match(result, gold, ["daily_stand_revenue"], instance_id="lemonade001")
    assert str(report).splitlines()[0] == ("lemonade001: table_missing — table 'daily_stand_revenue' is missing "
                                           "from the result (it has: stg_costs, stg_sales)")
    report.instance_id = None
    assert render(report).splitlines()[0].startswith("table_missing — table 'daily_stand_revenue'")
    assert str(duckdb_match(gold, gold, instance_id="x001")).splitlines()[0] == (
        "x001: passed — all 1 graded table(s) match")


def test_the_first_line_stays_one_short_line(build: Build) -> None:
    gold = build(table("t", "a INTEGER", "1"))
    result = build(*[table("very_long_table_name_number_" + "x" * 40 + str(i), "a INTEGER", "1") for i in range(30)])
    report = duckdb_match(result, gold, ["t"], instance_id="x001")
    first = str(report).splitlines()[0]
    assert len(first) <= MAX_HEADLINE_LENGTH and first.endswith("...") and "\n" not in report.message
    assert "and 10 more" in report.tables[0].message or "..." in first


def test_rendering_caps_the_failing_columns_and_ends_with_a_hint(build: Build) -> None:
    width = MAX_FAILING_COLUMNS_SHOWN + 3
    columns = ", ".join(f"c{i} INTEGER" for i in range(width))
    gold = build(table("t", columns, ", ".join(str(i) for i in range(width))))
    result = build(table("t", columns, ", ".join(str(i + 100) for i in range(width))))
    report = duckdb_match(result, gold, ["t"])
    text = report.render(color=False)
    assert "... and 3 more failing column(s)" in text
    assert text.splitlines()[-1].startswith("hint:")
    assert "\x1b[" not in text and "\x1b[" in report.render(color=True)
    assert str(report) == text
    assert report.render(color=True).splitlines()[0].count("value_mismatch") == 1


def test_an_explanation_says_why_values_that_look_alike_disagree(build: Build) -> None:
    gold = build("CREATE TABLE t AS SELECT [i, 1] AS l FROM range(3) r(i)")
    text = str(duckdb_match(gold, gold, ["t"]))
    assert "raises ValueError" in text and "row" in text
