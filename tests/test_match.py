"""The official verdict's rules one by one, the failure categories, the report, and the real Spider2 data."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import duckdb
import numpy as np
import pytest

from pytest_spider2dbt import match
from pytest_spider2dbt.match import MatchReport, duckdb_match
from reference_match import reference_score

pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")

SPIDER2_DATA = Path(__file__).parents[1].parent / "shared" / "spider2-data"
SPIDER2_DUCKDB = SPIDER2_DATA / "duckdb"
needs_spider2_data = pytest.mark.skipif(
    not SPIDER2_DUCKDB.is_dir(), reason=f"the Spider2 test databases are not at {SPIDER2_DUCKDB}"
)

Build = Callable[..., str]


@pytest.fixture
def build(tmp_path: Path) -> Build:
    """build(*sql) -> path of a new DuckDB file made by running the statements."""
    numbers = itertools.count()

    def make(*statements: str) -> str:
        path = tmp_path / f"db{next(numbers)}.duckdb"
        connection = duckdb.connect(str(path))
        try:
            for statement in statements:
                connection.execute(statement)
        finally:
            connection.close()
        return str(path)

    return make


def judged(result: str, gold: str, *config: Any, **options: Any) -> MatchReport:
    """The fast verdict, checked against the reference (fast path forced on and off)."""
    expected = reference_score(result, gold, *config)
    report = duckdb_match(result, gold, *config, **options)
    with mock.patch.object(match, "LITERAL_CELL_LIMIT", 0):
        forced = duckdb_match(result, gold, *config, **options)
    assert report.score == forced.score == expected, report.render()
    assert report.category == forced.category
    return report


def table(name: str, columns: str, *rows: str) -> str:
    """CREATE TABLE name AS VALUES ... with the given column definitions, e.g. 'a INTEGER, b VARCHAR'."""
    names = [part.split()[0] for part in columns.split(",")]
    types = [" ".join(part.split()[1:]) for part in columns.split(",")]
    if not rows:
        return f"CREATE TABLE {name} ({columns})"
    body = ", ".join(f"({row})" for row in rows)
    select = ", ".join(f"CAST({column} AS {sql_type}) AS {column}" for column, sql_type in zip(names, types))
    return f"CREATE TABLE {name} AS SELECT {select} FROM (VALUES {body}) AS v({', '.join(names)})"


# ------------------------------------------------------------------------ consequences named in DESIGN.md


def test_scrambled_rows_pass_officially_but_not_strictly(build: Build) -> None:
    gold = build(table("t", "a INTEGER, b VARCHAR", "1, 'x'", "2, 'y'", "3, 'z'"))
    scrambled = build(table("t", "a INTEGER, b VARCHAR", "1, 'z'", "2, 'x'", "3, 'y'"))
    report = judged(scrambled, gold, ["t"], [[]], [True])
    assert report.score == 1 and report.strict_score == 0
    assert "strict" in report.message and "strict" in str(report)
    shuffled = build(table("t", "a INTEGER, b VARCHAR", "3, 'z'", "1, 'x'", "2, 'y'"))
    assert judged(shuffled, gold, ["t"], [[]], [True]).strict_score == 1


def test_values_sort_by_their_string_so_ten_comes_before_nine(build: Build) -> None:
    """Sorted by number the pairs would be (9.99, 9.981) and (9.999, 10.008), both within 0.01; sorted by
    string they are (9.99, 10.008) and (9.999, 9.981)."""
    gold = build(table("t", "a DOUBLE", "9.99", "9.999"))
    result = build(table("t", "a DOUBLE", "10.008", "9.981"))
    report = judged(result, gold, ["t"], [[0]], [True])
    assert report.score == 0 and report.category == "value_mismatch"


def test_values_within_a_hundredth_match(build: Build) -> None:
    gold = build(table("t", "a DOUBLE", "1.0", "2.5"))
    assert judged(build(table("t", "a DOUBLE", "1.0099", "2.4901")), gold, ["t"], None, [True]).score == 1
    assert judged(build(table("t", "a DOUBLE", "1.0101", "2.5")), gold, ["t"], None, [True]).score == 0


def test_large_numbers_get_a_relative_tolerance_of_one_billionth(build: Build) -> None:
    gold = build(table("t", "a DOUBLE", "123456789012.0"))
    assert judged(build(table("t", "a DOUBLE", "123456789012.1")), gold, ["t"]).score == 1
    assert judged(build(table("t", "a DOUBLE", "123456789300.0")), gold, ["t"]).score == 0


def test_text_one_does_not_match_number_one(build: Build) -> None:
    gold = build(table("t", "a INTEGER", "1", "2"))
    assert judged(build(table("t", "a VARCHAR", "'1'", "'2'")), gold, ["t"]).score == 0
    assert judged(build(table("t", "a DOUBLE", "1.0", "2.0")), gold, ["t"]).score == 1


def test_date_matches_timestamp_at_midnight(build: Build) -> None:
    gold = build(table("t", "d DATE, n INTEGER", "'2020-01-01', 1", "'2020-01-02', 2"))
    midnight = build(table("t", "d TIMESTAMP, n INTEGER", "'2020-01-01 00:00:00', 1", "'2020-01-02', 2"))
    assert judged(midnight, gold, ["t"], [[0]], [True]).score == 1
    later = build(table("t", "d TIMESTAMP, n INTEGER", "'2020-01-01 00:00:01', 1", "'2020-01-02', 2"))
    assert judged(later, gold, ["t"], [[0]], [True]).score == 0


def test_null_matches_nan(build: Build) -> None:
    gold = build(table("t", "a INTEGER, s VARCHAR", "1, 'x'", "NULL, NULL"))
    result = build(table("t", "a DOUBLE, s VARCHAR", "'1.0', 'x'", "'nan', NULL"))
    assert judged(result, gold, ["t"], [[0, 1]], [False]).score == 1


# ------------------------------------------------------------------------------------------ other quirks


def test_table_name_is_resolved_case_insensitively(build: Build) -> None:
    gold = build(table("orders", "a INTEGER", "1"))
    result = build('CREATE TABLE "Orders" AS SELECT 1 AS a')
    assert judged(result, gold, ["ORDERS"]).score == 1


def test_all_gold_tables_are_graded_when_condition_tabs_is_none(build: Build) -> None:
    gold = build(table("a", "x INTEGER", "1"), table("b", "y INTEGER", "2"))
    assert judged(build(table("a", "x INTEGER", "1"), table("b", "y INTEGER", "2")), gold).score == 1
    report = judged(build(table("a", "x INTEGER", "1")), gold)
    assert report.category == "table_missing" and "'b'" in report.message


def test_empty_entry_means_all_gold_columns_and_extra_result_columns_are_ignored(build: Build) -> None:
    gold = build(table("t", "a INTEGER, b VARCHAR", "1, 'x'", "2, 'y'"))
    result = build(table("t", "extra DOUBLE, renamed VARCHAR, other INTEGER", "0.5, 'x', 1", "0.7, 'y', 2"))
    report = judged(result, gold, ["t"], [[]], [False])
    assert report.score == 1
    assert [(c.name, c.result_column) for c in report.tables[0].columns] == [("a", "other"), ("b", "renamed")]


def test_negative_and_repeated_indices_select_like_iloc(build: Build) -> None:
    gold = build(table("t", "a INTEGER, b VARCHAR, c DOUBLE", "1, 'x', 0.5"))
    result = build(table("t", "c DOUBLE", "0.5"))
    report = judged(result, gold, ["t"], [[-1, 2, -1]], [True])
    assert report.score == 1
    assert [c.index for c in report.tables[0].columns] == [-1, 2, -1]
    assert judged(result, gold, ["t"], [[-3]], [True]).score == 0


def test_one_result_column_may_match_several_gold_columns(build: Build) -> None:
    gold = build(table("t", "a INTEGER, b INTEGER", "1, 1", "2, 2"))
    result = build(table("t", "single INTEGER", "1", "2"))
    assert judged(result, gold, ["t"]).score == 1


def test_rows_are_compared_in_order_unless_ignore_order(build: Build) -> None:
    gold = build(table("t", "a INTEGER", "1", "2"))
    result = build(table("t", "a INTEGER", "2", "1"))
    assert judged(result, gold, ["t"], [[0]], [False]).score == 0
    assert judged(result, gold, ["t"], [[0]], [True]).score == 1
    assert judged(result, gold, ["t"], [[0]], None).score == 0


def test_a_frame_of_nanosecond_timestamps_only_hands_over_integers(build: Build) -> None:
    """pandas keeps a frame with one dtype as it is, and numpy's tolist turns datetime64[ns] into integers;
    in a frame of mixed dtypes the same column becomes Timestamps, so the verdict depends on the other
    columns of the result table."""
    gold = build(table("t", "ts TIMESTAMP_NS", "'2020-01-01'", "'2020-01-02'"))
    alone = build(table("t", "ts TIMESTAMP_NS", "'2020-01-02'", "'2020-01-01'"))
    assert judged(alone, gold, ["t"], [[0]], [True]).score == 1
    beside_text = build(table("t", "ts TIMESTAMP_NS, s VARCHAR", "'2020-01-02', 'a'", "'2020-01-01', 'b'"))
    assert judged(beside_text, gold, ["t"], [[0]], [True]).score == 0


def test_frame_of_dates_only_matches_timestamps_of_a_mixed_frame(build: Build) -> None:
    gold = build(table("t", "d DATE, e DATE", "'2020-01-01', NULL", "'2020-01-02', '2020-01-03'"))
    result = build(table("t", "s VARCHAR, e TIMESTAMP, d DATE", "'x', '2020-01-03', '2020-01-02'",
                         "'y', NULL, '2020-01-01'"))
    assert judged(result, gold, ["t"], [[0, 1]], [True]).score == 1


def test_missing_values_of_different_kinds(build: Build) -> None:
    columns = "a INTEGER, s VARCHAR, d DATE, b BOOLEAN"
    nulls, values = "NULL, NULL, NULL, NULL", "1, 'x', '2020-01-01', TRUE"
    gold = build(table("t", columns, nulls, values))
    same = build(table("t", columns, values, nulls))
    assert judged(same, gold, ["t"], [[]], [True]).score == 1
    value_for_null = build(table("t", "a INTEGER", "0", "1"))
    assert judged(value_for_null, gold, ["t"], [[0]], [True]).score == 0


def test_booleans_count_as_numbers(build: Build) -> None:
    gold = build(table("t", "b BOOLEAN", "TRUE", "FALSE"))
    assert judged(build(table("t", "i INTEGER", "1", "0")), gold, ["t"], [[0]], [True]).score == 1
    assert judged(build(table("t", "s VARCHAR", "'True'", "'False'")), gold, ["t"], [[0]], [True]).score == 0


def test_a_null_boolean_sorts_first_and_a_null_number_last(build: Build) -> None:
    """str(pd.NA) is '<NA>', which sorts before 'True' but after '1'; NaN prints 'nan', after both."""
    gold = build(table("t", "b BOOLEAN", "NULL", "TRUE"))
    assert judged(build(table("t", "b BOOLEAN", "TRUE", "NULL")), gold, ["t"], [[0]], [True]).score == 1
    assert judged(build(table("t", "i INTEGER", "1", "NULL")), gold, ["t"], [[0]], [True]).score == 0
    assert judged(build(table("t", "d DOUBLE", "1.0", "NULL")), gold, ["t"], [[0]], [True]).score == 0
    no_null = build(table("t", "b BOOLEAN", "FALSE", "TRUE"))
    assert judged(build(table("t", "i INTEGER", "1", "0")), no_null, ["t"], [[0]], [True]).score == 1


def test_integers_and_equal_floats_can_sort_apart(build: Build) -> None:
    """str(10**16) starts with '10', str(1e16) with '1e': equal numbers, different positions."""
    gold = build(table("t", "a BIGINT", "10000000000000000", "11"))
    assert judged(build(table("t", "a DOUBLE", "'1e16'", "'11'")), gold, ["t"], [[0]], [True]).score == 0
    smaller = build(table("t", "a BIGINT", "1000000000000000", "11"))
    assert judged(build(table("t", "a DOUBLE", "'1e15'", "'11'")), smaller, ["t"], [[0]], [True]).score == 1


def test_integers_beyond_two_to_the_53_sort_by_their_own_digits(build: Build) -> None:
    """2**53 + 1 and 2**53 are the same float, yet their strings sort on either side of 90071992547409925."""
    exact = build(table("t", "a BIGINT", "9007199254740993", "90071992547409925"))
    near = build(table("t", "a BIGINT", "9007199254740992", "90071992547409925"))
    assert judged(near, exact, ["t"], [[0]], [True]).score == 0
    assert judged(near, exact, ["t"], [[0]], [False]).score == 1


def test_the_string_nan_sorts_before_a_null_text(build: Build) -> None:
    """A NULL VARCHAR arrives as NaN: str 'nan' like the text 'nan', but a number, so it sorts after it."""
    gold = build(table("t", "s VARCHAR, n INTEGER", "'nan', 1", "NULL, 2"))
    result = build(table("t", "s VARCHAR, n INTEGER", "NULL, 1", "'nan', 2"))
    assert judged(result, gold, ["t"], [[0]], [True]).score == 1
    assert judged(result, gold, ["t"], [[0]], [False]).score == 0


def test_lists_and_decimals_take_the_value_by_value_path(build: Build) -> None:
    gold = build(table("t", "l INTEGER[], n INTEGER", "[1, 2], 1", "[3], 2"))
    result = build(table("t", "l INTEGER[], n INTEGER", "[3], 2", "[1, 2], 1"))
    assert judged(result, gold, ["t"], [[0]], [True]).score == 0
    assert judged(result, gold, ["t"], [[1]], [True]).score == 1


def test_no_graded_table_scores_one_without_opening_the_files(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.duckdb")
    assert judged(missing, missing, []).score == 1


def test_gold_is_read_before_the_result(tmp_path: Path) -> None:
    report = judged(str(tmp_path / "no_result.duckdb"), str(tmp_path / "no_gold.duckdb"), ["t"])
    assert report.category == "gold_missing" and "not found" in report.message


# ----------------------------------------------------------------------------------- categories, messages


def test_missing_result_file(build: Build, tmp_path: Path) -> None:
    gold = build(table("t", "a INTEGER", "1"))
    report = judged(str(tmp_path / "nowhere.duckdb"), gold, ["t"])
    assert (report.score, report.category) == (0, "no_result_db")
    assert "not found" in report.message and "nowhere.duckdb" in report.message


def test_corrupt_result_file(build: Build, tmp_path: Path) -> None:
    gold = build(table("t", "a INTEGER", "1"))
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"\x00garbage, not a database" * 200)
    report = judged(str(garbage), gold, ["t"])
    assert report.category == "no_result_db"
    assert "corrupt" in report.message and "not a DuckDB database" in report.message


def test_corrupt_or_missing_gold(build: Build, tmp_path: Path) -> None:
    result = build(table("t", "a INTEGER", "1"))
    garbage = tmp_path / "gold.duckdb"
    garbage.write_bytes(b"garbage" * 100)
    assert judged(result, str(garbage), ["t"]).category == "gold_missing"
    report = judged(result, build(table("other", "a INTEGER", "1")), ["t"])
    assert report.category == "gold_missing" and "'t'" in report.message and "gold" in report.message


def test_missing_table_lists_the_result_tables_and_other_schemas(build: Build) -> None:
    gold = build(table("orders", "a INTEGER", "1"))
    result = build("CREATE SCHEMA main_marts", "CREATE TABLE main_marts.orders AS SELECT 1 AS a",
                   "CREATE TABLE customers AS SELECT 1 AS id")
    report = judged(result, gold, ["orders"], instance_id="shop001")
    assert report.category == "table_missing"
    assert "main_marts.orders" in report.message and "another schema" in report.message
    assert report.tables[0].found_elsewhere == ["main_marts.orders"]
    assert set(report.tables[0].result_tables) == {"customers", "main_marts.orders"}
    plain = judged(build("CREATE TABLE customers AS SELECT 1 AS id"), gold, ["orders"])
    assert "it has: customers" in plain.message


def test_index_past_the_end_is_a_config_error_naming_instance_table_and_index(build: Build) -> None:
    gold = build(table("mrr", "a INTEGER, b INTEGER", "1, 2"))
    report = judged(gold, gold, ["mrr"], [[0, 2]], [True], instance_id="mrr002")
    assert report.category == "config_error"
    assert "mrr002" in report.message and "'mrr'" in report.message and "2" in report.message


def test_config_lists_of_different_lengths(build: Build) -> None:
    gold = build(table("t", "a INTEGER", "1"))
    report = judged(gold, gold, ["t"], [[0], [0]], [True], instance_id="x001")
    assert report.category == "config_error" and "x001" in report.message and "condition_cols" in report.message
    report = judged(gold, gold, ["t"], None, [True, False])
    assert report.category == "config_error" and "ignore_orders" in report.message


def test_odd_config_values_never_raise(build: Build) -> None:
    gold = build(table("t", "a INTEGER, b INTEGER", "1, 2"))
    for config in ([["t"], 5, None], [["t"], [(0, 1)], [True]], [["t"], [[0]], [np.array([1, 2])]],
                   [["t"], [[True, False]], [True]], [["t"], [None], [True]], [7, None, None]):
        report = judged(gold, gold, *config)
        assert report.category in match.CATEGORIES


def test_row_count_and_value_mismatch_categories(build: Build) -> None:
    gold = build(table("t", "a INTEGER", "1", "2"))
    assert judged(build(table("t", "a INTEGER", "1")), gold, ["t"]).category == "row_count_mismatch"
    report = judged(build(table("t", "a INTEGER", "1", "3")), gold, ["t"])
    assert report.category == "value_mismatch" and "'t'" in report.message


def test_unreadable_view_is_reported_as_such(build: Build) -> None:
    gold = build(table("v", "a INTEGER", "1"))
    result = build("CREATE TABLE base AS SELECT 1 AS a", "CREATE VIEW v AS SELECT * FROM base", "DROP TABLE base")
    report = judged(result, gold, ["v"])
    assert report.category == "table_missing" and report.tables[0].status == "unreadable"
    assert "cannot be read" in report.message


# ---------------------------------------------------------------------------------------------- the report


def test_failing_column_names_the_same_named_result_column_with_sorted_samples(build: Build) -> None:
    gold = build(table("t", "id INTEGER, amount DOUBLE", "1, 10.0", "2, 20.0", "3, 30.0"))
    result = build(table("t", "ID INTEGER, AMOUNT DOUBLE", "3, 30.0", "1, 10.5", "2, 20.0"))
    report = judged(result, gold, ["t"], [[0, 1]], [True])
    column = report.tables[0].columns[1]
    assert not column.matched and column.candidate == "AMOUNT" and column.candidate_reason == "same name"
    assert (column.agreeing, column.compared) == (2, 3)
    assert column.samples == [(0, "10.0", "10.5")]
    text = str(report)
    assert "'amount'" in text and "'AMOUNT'" in text and "10.5" in text


def test_failing_column_without_namesake_gets_the_closest_result_column(build: Build) -> None:
    gold = build(table("t", "price DOUBLE", "1.0", "2.0", "3.0", "4.0"))
    result = build(table("t", "x DOUBLE, y DOUBLE", "9.0, 1.0", "8.0, 2.0", "7.0, 3.0", "6.0, 4.5"))
    column = judged(result, gold, ["t"], [[0]], [True]).tables[0].columns[0]
    assert (column.candidate, column.candidate_reason, column.agreeing) == ("y", "closest", 3)
    assert column.samples == [(3, "4.0", "4.5")]


def test_samples_are_capped(build: Build) -> None:
    rows = [f"{i}" for i in range(12)]
    gold = build(table("t", "a INTEGER", *rows))
    result = build(table("t", "a INTEGER", *[f"{i + 100}" for i in range(12)]))
    column = judged(result, gold, ["t"]).tables[0].columns[0]
    assert len(column.samples) == match.SAMPLE_SIZE


def test_rendering_caps_the_failing_columns_and_ends_with_a_hint(build: Build) -> None:
    width = match.MAX_FAILING_COLUMNS_SHOWN + 3
    columns = ", ".join(f"c{i} INTEGER" for i in range(width))
    gold = build(table("t", columns, ", ".join(str(i) for i in range(width))))
    result = build(table("t", columns, ", ".join(str(i + 100) for i in range(width))))
    report = judged(result, gold, ["t"])
    text = report.render(color=False)
    assert "... and 3 more failing column(s)" in text
    assert text.splitlines()[-1].startswith("hint:")
    assert "\x1b[" not in text and "\x1b[" in report.render(color=True)
    assert str(report) == text


def test_report_serialises_to_json(build: Build) -> None:
    gold = build(table("t", "a INTEGER, d DATE", "1, '2020-01-01'"))
    result = build(table("t", "a INTEGER, d DATE", "2, '2020-01-01'"))
    report = judged(result, gold, ["t"], [[0, -1]], [True], instance_id="x001")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["score"] == 0 and data["category"] == "value_mismatch" and data["instance_id"] == "x001"
    assert data["tables"][0]["columns"][0]["samples"] == [[0, "1", "2"]]
    assert not report and bool(judged(gold, gold, ["t"]))


def test_strict_pairs_rows_within_tolerance(build: Build) -> None:
    gold = build(table("t", "a DOUBLE, b DOUBLE", "1.0, 5.0", "1.005, 3.0"))
    result = build(table("t", "a DOUBLE, b DOUBLE", "1.004, 5.0", "1.0, 3.0"))
    report = judged(result, gold, ["t"], [[]], [True])
    assert report.score == 1 and report.strict_score == 1
    swapped = build(table("t", "a DOUBLE, b DOUBLE", "1.004, 3.0", "1.0, 3.0"))
    assert judged(swapped, gold, ["t"], [[]], [True]).score == 0


def test_strict_prefers_the_same_named_column_among_identical_ones(build: Build) -> None:
    gold = build(table("t", "first BOOLEAN, last BOOLEAN", "TRUE, FALSE", "FALSE, TRUE"))
    report = judged(gold, gold, ["t"], [[]], [True])
    assert [c.result_column for c in report.tables[0].columns] == ["first", "first"]
    assert report.strict_score == 1


# ---------------------------------------------------------------------------------------------- fast path


SAMPLE_VALUES = {
    "INTEGER": ["3", "-1", "10"],
    "BIGINT": ["9007199254740993", "-5", "10"],
    "DOUBLE": ["'0.5'", "'-0.0'", "'inf'"],
    "FLOAT": ["'0.1'", "'2.5'", "'-3'"],
    "VARCHAR": ["'nan'", "'b'", "'10'"],
    "DATE": ["'2020-01-02'", "'1999-12-31'", "'2020-01-01'"],
    "TIMESTAMP": ["'2020-01-02 00:00:00.5'", "'1999-12-31'", "'2020-01-01 10:00'"],
    "TIMESTAMPTZ": ["'2020-01-02 00:00:00+00'", "'1999-12-31 23:00:00+00'", "'2020-01-01 10:00+00'"],
    "BOOLEAN": ["TRUE", "FALSE", "TRUE"],
}


@pytest.mark.parametrize("sql_type", list(SAMPLE_VALUES))
@pytest.mark.parametrize("literal_side", ["gold", "result"])
def test_fast_columns_meet_columns_converted_by_pandas(build: Build, sql_type: str, literal_side: str) -> None:
    """An INTERVAL column sends its whole frame through pandas' own conversion; the other side stays fast
    (judged forces the fast path on), so both conversions must sort and compare alike."""
    values = ["NULL", *SAMPLE_VALUES[sql_type]]
    plain = build(table("t", f"a {sql_type}", *values))
    with_interval = build(table("t", f"a {sql_type}, i INTERVAL", *[f"{v}, INTERVAL 1 DAY" for v in values[::-1]]))
    if literal_side == "gold":
        assert judged(plain, with_interval, ["t"], [[0, 1]], [True]).score == 0
        assert judged(plain, with_interval, ["t"], [[0]], [True]).score == 1
    else:
        assert judged(with_interval, plain, ["t"], [[0]], [True]).score == 1


def test_large_tables_take_the_fast_path(build: Build) -> None:
    statement = ("CREATE TABLE t AS SELECT i::INTEGER AS i, i * 1.5 AS d, 'v' || (i % 97) AS s, "
                 "DATE '2020-01-01' + (i % 400)::INTEGER AS day, i % 3 = 0 AS flag, "
                 "CASE WHEN i % 7 = 0 THEN NULL ELSE i END AS maybe FROM range(30000) r(i)")
    gold = build(statement)
    result = build(statement.replace("FROM range(30000) r(i)", "FROM range(30000) r(i) ORDER BY random()"))
    converted: list[int] = []
    original = match._pandas_value_lists

    def spy(frame: Any) -> list:
        converted.append(frame.size)
        return original(frame)

    with mock.patch.object(match, "_pandas_value_lists", spy):
        report = duckdb_match(result, gold, ["t"], [[]], [True])
    assert report.score == 1 and report.strict_score == 1
    assert max(converted) <= 2 * 6 * 13, "only probes go through pandas' own conversion"
    assert reference_score(result, gold, ["t"], [[]], [True]) == 1


def test_a_probe_that_disagrees_falls_back_to_pandas(build: Build) -> None:
    statement = "CREATE TABLE t AS SELECT i::INTEGER AS i, 'x' || i AS s FROM range(20000) r(i)"
    gold, result = build(statement), build(statement + " ORDER BY random()")
    with mock.patch.object(match._IntConverter, "python_values", lambda self, series, rows: [-1] * len(rows)):
        assert judged(result, gold, ["t"], [[]], [True]).score == 1


def test_values_outside_the_fast_path_fall_back(build: Build) -> None:
    gold = build("CREATE TABLE t AS SELECT (DATE '0999-01-01' + i::INTEGER) AS d, i AS n FROM range(20000) r(i)")
    result = build("CREATE TABLE t AS SELECT (DATE '0999-01-01' + i::INTEGER) AS d, i AS n FROM range(20000) r(i) "
                   "ORDER BY n DESC")
    assert judged(result, gold, ["t"], [[0]], [True]).score == 1


# ---------------------------------------------------------------------------------------- real Spider2 data

MRR_BUILDS = ["mrr_gold", "mrr_variant_a", "mrr_variant_b"]


def spider2_db(name: str) -> str:
    return str(SPIDER2_DUCKDB / f"{name}.duckdb")


@needs_spider2_data
@pytest.mark.parametrize("result, gold", list(itertools.product(MRR_BUILDS, MRR_BUILDS)))
def test_each_mrr_build_matches_the_others(result: str, gold: str) -> None:
    report = judged(spider2_db(result), spider2_db(gold), ["mrr"], [list(range(12))], [True])
    assert report.score == 1


@needs_spider2_data
@pytest.mark.parametrize("gold", MRR_BUILDS)
def test_the_mrr_start_database_matches_none(gold: str) -> None:
    report = judged(spider2_db("mrr_start"), spider2_db(gold), ["mrr"], [list(range(12))], [True])
    assert report.category == "table_missing"


@needs_spider2_data
def test_playbook_gold_matches_itself() -> None:
    report = judged(spider2_db("playbook_gold"), spider2_db("playbook_gold"), ["attribution_touches"],
                    [[15, 16, 17, 18]], [True])
    assert report.score == 1 and report.strict_score == 1


@needs_spider2_data
def test_playbook_start_misses_the_table() -> None:
    report = judged(spider2_db("playbook_start"), spider2_db("playbook_gold"), ["attribution_touches"],
                    [[15, 16, 17, 18]], [True], instance_id="playbook001")
    assert (report.score, report.category) == (0, "table_missing")
    assert "attribution_touches" in report.message
