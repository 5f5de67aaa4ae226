"""The official verdict's rules one by one, the failure categories, and the real Spider2 data.

Every verdict is checked against the official one (``pytest_spider2dbt.match.official`` and the real official code
when it is present), on the files as written and on copies whose rows repeat past the fast-path threshold.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_match_support import (
    SPIDER2_DUCKDB,
    Build,
    build,
    judged,
    needs_spider2_data,
    official_code,
    official_score,
    scratch,
    table,
)

from pytest_spider2dbt.categories import JUDGE_CATEGORIES, Category
from pytest_spider2dbt.match import MatchReport, duckdb_match, official

__all__ = ["build", "scratch"]
pytestmark = pytest.mark.parity  # the verdict depends on the pandas and DuckDB versions


def judged_once(result: str, gold: str, *config: Any, **options: Any) -> MatchReport:
    """judged, on the files as given only: what these tests check does not depend on the table size."""
    return judged(result, gold, *config, both_sizes=False, **options)


# ------------------------------------------------------------------------ consequences named in DESIGN.md


def test_scrambled_rows_pass_officially_but_not_strictly(build: Build) -> None:
    gold = build(table("t", "a INTEGER, b VARCHAR", "1, 'x'", "2, 'y'", "3, 'z'"))
    scrambled = build(table("t", "a INTEGER, b VARCHAR", "1, 'z'", "2, 'x'", "3, 'y'"))
    report = judged(scrambled, gold, ["t"], [[]], [True])
    assert report.score == 1 and report.strict_score == 0
    assert "strict" in report.message and "same values, different pairing of rows" in str(report)
    shuffled = build(table("t", "a INTEGER, b VARCHAR", "3, 'z'", "1, 'x'", "2, 'y'"))
    assert judged(shuffled, gold, ["t"], [[]], [True]).strict_score == 1


def test_values_sort_by_their_string_so_ten_comes_before_nine(build: Build) -> None:
    """Sorted by number the pairs would be (9.99, 9.981) and (9.999, 10.008), both within 0.01; sorted by
    string they are (9.99, 10.008) and (9.999, 9.981)."""
    gold = build(table("t", "a DOUBLE", "9.99", "9.999"))
    result = build(table("t", "a DOUBLE", "10.008", "9.981"))
    report = judged(result, gold, ["t"], [[0]], [True])
    assert report.score == 0 and report.category == Category.VALUE_MISMATCH


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
    assert judged_once(result, gold, ["ORDERS"]).score == 1


def test_all_gold_tables_are_graded_when_condition_tabs_is_none(build: Build) -> None:
    gold = build(table("a", "x INTEGER", "1"), table("b", "y INTEGER", "2"))
    assert judged_once(build(table("a", "x INTEGER", "1"), table("b", "y INTEGER", "2")), gold).score == 1
    report = judged_once(build(table("a", "x INTEGER", "1")), gold)
    assert report.category == Category.TABLE_MISSING and "'b'" in report.message


def test_empty_entry_means_all_gold_columns_and_extra_result_columns_are_ignored(build: Build) -> None:
    gold = build(table("t", "a INTEGER, b VARCHAR", "1, 'x'", "2, 'y'"))
    result = build(table("t", "extra DOUBLE, renamed VARCHAR, other INTEGER", "0.5, 'x', 1", "0.7, 'y', 2"))
    report = judged_once(result, gold, ["t"], [[]], [False])
    assert report.score == 1
    assert [(c.name, c.result_column) for c in report.tables[0].columns] == [("a", "other"), ("b", "renamed")]


def test_negative_and_repeated_indices_select_like_iloc(build: Build) -> None:
    gold = build(table("t", "a INTEGER, b VARCHAR, c DOUBLE", "1, 'x', 0.5"))
    result = build(table("t", "c DOUBLE", "0.5"))
    report = judged_once(result, gold, ["t"], [[-1, 2, -1]], [True])
    assert report.score == 1
    assert [c.index for c in report.tables[0].columns] == [-1, 2, -1]
    assert judged_once(result, gold, ["t"], [[-3]], [True]).score == 0


def test_one_result_column_may_match_several_gold_columns(build: Build) -> None:
    gold = build(table("t", "a INTEGER, b INTEGER", "1, 1", "2, 2"))
    result = build(table("t", "single INTEGER", "1", "2"))
    assert judged_once(result, gold, ["t"]).score == 1


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
    """A NULL VARCHAR arrives as NaN or None: str 'nan' like the text 'nan' but a number, or 'None' but None."""
    gold = build(table("t", "s VARCHAR, n INTEGER", "'nan', 1", "NULL, 2"))
    result = build(table("t", "s VARCHAR, n INTEGER", "NULL, 1", "'nan', 2"))
    assert judged(result, gold, ["t"], [[0]], [True]).score == 1
    assert judged(result, gold, ["t"], [[0]], [False]).score == 0


def test_lists_of_two_values_never_match_and_decimals_match_as_floats(build: Build) -> None:
    """pd.isna of a list of two values is an array, whose truth raises: the official comparison fails."""
    gold = build(table("t", "l INTEGER[], n DECIMAL(10,2)", "[1, 2], 1", "[3], 2"))
    result = build(table("t", "l INTEGER[], n DECIMAL(10,2)", "[3], 2", "[1, 2], 1"))
    assert judged(result, gold, ["t"], [[0]], [True]).score == 0
    assert judged(result, gold, ["t"], [[1]], [True]).score == 1


def test_no_graded_table_scores_one_without_opening_the_files(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.duckdb")
    assert judged_once(missing, missing, []).score == 1


def test_gold_is_read_before_the_result(tmp_path: Path) -> None:
    report = judged_once(str(tmp_path / "no_result.duckdb"), str(tmp_path / "no_gold.duckdb"), ["t"])
    assert report.category == Category.GOLD_MISSING and "not found" in report.message


# ----------------------------------------------------------------------------------- categories, messages


def test_missing_result_file(build: Build, tmp_path: Path) -> None:
    gold = build(table("t", "a INTEGER", "1"))
    report = judged_once(str(tmp_path / "nowhere.duckdb"), gold, ["t"])
    assert (report.score, report.category) == (0, Category.NO_RESULT_DB)
    assert "not found" in report.message and "nowhere.duckdb" in report.message


def test_corrupt_result_file(build: Build, tmp_path: Path) -> None:
    gold = build(table("t", "a INTEGER", "1"))
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"\x00garbage, not a database" * 200)
    report = judged_once(str(garbage), gold, ["t"])
    assert report.category == Category.NO_RESULT_DB
    assert "corrupt" in report.message and "not a DuckDB database" in report.message


def test_corrupt_or_missing_gold(build: Build, tmp_path: Path) -> None:
    result = build(table("t", "a INTEGER", "1"))
    garbage = tmp_path / "gold.duckdb"
    garbage.write_bytes(b"garbage" * 100)
    assert judged_once(result, str(garbage), ["t"]).category == Category.GOLD_MISSING
    report = judged_once(result, build(table("other", "a INTEGER", "1")), ["t"])
    assert report.category == Category.GOLD_MISSING and "'t'" in report.message and "gold" in report.message


def test_missing_table_lists_the_result_tables_and_other_schemas(build: Build) -> None:
    gold = build(table("orders", "a INTEGER", "1"))
    result = build("CREATE SCHEMA main_marts", "CREATE TABLE main_marts.orders AS SELECT 1 AS a",
                   "CREATE TABLE customers AS SELECT 1 AS id")
    report = judged_once(result, gold, ["orders"], instance_id="shop001")
    assert report.category == Category.TABLE_MISSING
    assert "main_marts.orders" in report.message and "another schema" in report.message
    assert report.tables[0].found_elsewhere == ["main_marts.orders"]
    assert set(report.tables[0].result_tables) == {"customers", "main_marts.orders"}
    plain = judged_once(build("CREATE TABLE customers AS SELECT 1 AS id"), gold, ["orders"])
    assert "it has: customers" in plain.message


def test_index_past_the_end_is_a_config_error_naming_instance_table_and_index(build: Build) -> None:
    gold = build(table("mrr", "a INTEGER, b INTEGER", "1, 2"))
    report = judged_once(gold, gold, ["mrr"], [[0, 2]], [True], instance_id="mrr002")
    assert report.category == Category.CONFIG_ERROR
    assert "mrr002" in report.message and "'mrr'" in report.message and "2" in report.message


def test_config_lists_of_different_lengths(build: Build) -> None:
    gold = build(table("t", "a INTEGER", "1"))
    report = judged_once(gold, gold, ["t"], [[0], [0]], [True], instance_id="x001")
    assert report.category == Category.CONFIG_ERROR and "x001" in report.message
    assert "condition_cols" in report.message
    report = judged_once(gold, gold, ["t"], None, [True, False])
    assert report.category == Category.CONFIG_ERROR and "ignore_orders" in report.message


@pytest.mark.parametrize(
    "config",
    [
        [["t"], 5, None], [["t"], [(0, 1)], [True]], [["t"], [[0]], [np.array([1, 2])]],
        [["t"], [[True, False]], [True]],
        [["t"], [None], [True]], [7, None, None], ["t", None, None], [["t"], [0], [True]],
        [["t"], [np.array([0])], [False]], [["t"], {0: [0]}, [True]], [["t"], [[0]], "x"], [["t"], [[0]], ["yes"]],
    ],
)
def test_odd_config_values_never_raise(build: Build, config: list) -> None:
    gold = build(table("t", "a INTEGER, b INTEGER", "1, 2"))
    report = judged_once(gold, gold, *config)
    assert report.category in JUDGE_CATEGORIES


def test_condition_tabs_given_as_an_iterator_is_read_empty_the_second_time(build: Build) -> None:
    gold = build(table("t", "a INTEGER", "1"))
    report = duckdb_match(gold, gold, iter(["t"]))
    assert report.category == Category.CONFIG_ERROR and "iterator" in report.message
    assert official.duckdb_match(gold, gold, iter(["t"])) == 0
    if official_code() is not None:
        assert official_score(gold, gold, iter(["t"])) == 0


def test_row_count_and_value_mismatch_categories(build: Build) -> None:
    gold = build(table("t", "a INTEGER", "1", "2"))
    assert judged_once(build(table("t", "a INTEGER", "1")), gold, ["t"]).category == Category.ROW_COUNT_MISMATCH
    report = judged_once(build(table("t", "a INTEGER", "1", "3")), gold, ["t"])
    assert report.category == Category.VALUE_MISMATCH and "'t'" in report.message


def test_unreadable_view_is_reported_as_such(build: Build) -> None:
    gold = build(table("v", "a INTEGER", "1"))
    result = build("CREATE TABLE base AS SELECT 1 AS a", "CREATE VIEW v AS SELECT * FROM base", "DROP TABLE base")
    report = judged_once(result, gold, ["v"])
    assert report.category == Category.TABLE_MISSING and report.tables[0].status == "unreadable"
    assert "cannot be read" in report.message


# ---------------------------------------------------------------------------------------------- fast path


SAMPLE_VALUES = {
    "BIGINT": ["9007199254740993", "-5", "10"],
    "UBIGINT": ["18446744073709551615", "5", "10"],
    "DOUBLE": ["'0.5'", "'-0.0'", "'inf'"],
    "VARCHAR": ["'nan'", "'b'", "'10'"],
    "TIMESTAMP_MS": ["'2020-01-02 00:00:00.5'", "'1999-12-31'", "'2020-01-01 10:00:00'"],
    "TIMESTAMPTZ": ["'2020-01-02 00:00:00+00'", "'1999-12-31 23:00:00+00'", "'2020-01-01 10:00:00+00'"],
    "BOOLEAN": ["TRUE", "FALSE", "TRUE"],
    "UUID": ["'00000000-0000-0000-0000-000000000001'", "'00000000-0000-0000-0000-000000000000'", "NULL"],
}


def test_columns_of_one_dtype_meet_columns_of_a_mixed_frame(build: Build) -> None:
    """A frame of one column keeps its dtype (numpy's conversion); beside an INTERVAL column the same values go
    through object (pandas' boxing): both must sort and compare alike, on both sides of the fast-path size (the
    differential tests mix frames both ways)."""
    plain, mixed = [], []
    for sql_type, values in SAMPLE_VALUES.items():
        name = "t_" + sql_type.split("(")[0].lower()
        rows = ["NULL", *values]
        plain.append(table(name, f"a {sql_type}", *rows))
        mixed.append(table(name, f"a {sql_type}, i INTERVAL", *[f"{v}, INTERVAL 1 DAY" for v in rows[::-1]]))
    names = ["t_" + sql_type.split("(")[0].lower() for sql_type in SAMPLE_VALUES]
    gold, result = build(*mixed), build(*plain)
    assert judged(result, gold, names, [[0]] * len(names), [True] * len(names)).score == 1
    assert judged_once(result, gold, names[:1], [[0, 1]], [True]).score == 0


def test_a_large_table_of_common_types_is_judged_as_officially(build: Build) -> None:
    statement = ("CREATE TABLE t AS SELECT i::INTEGER AS i, i * 1.5 AS d, 'v' || (i % 97) AS s, "
                 "DATE '2020-01-01' + (i % 400)::INTEGER AS day, i % 3 = 0 AS flag, "
                 "CASE WHEN i % 7 = 0 THEN NULL ELSE i END AS maybe FROM range(3000) r(i)")
    gold = build(statement)
    result = build(statement.replace("FROM range(3000) r(i)", "FROM range(3000) r(i) ORDER BY random()"))
    report = judged(result, gold, ["t"], [[]], [True])
    assert report.score == 1 and report.strict_score == 1


def test_values_outside_four_digit_years_take_the_value_by_value_path(build: Build) -> None:
    gold = build("CREATE TABLE t AS SELECT (DATE '0999-01-01' + i::INTEGER) AS d, i AS n FROM range(3000) r(i)")
    result = build("CREATE TABLE t AS SELECT (DATE '0999-01-01' + i::INTEGER) AS d, i AS n FROM range(3000) r(i) "
                   "ORDER BY n DESC")
    assert judged(result, gold, ["t"], [[0]], [True]).score == 1


# ---------------------------------------------------------------------------------------- real Spider2 data

MRR_PAIRS = [("mrr_variant_a", "mrr_gold"), ("mrr_variant_a", "mrr_variant_b")]


@pytest.fixture(scope="module")
def spider2_copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real databases, copied (the originals are never opened for writing)."""
    directory = tmp_path_factory.mktemp("spider2")
    for source in SPIDER2_DUCKDB.glob("*.duckdb"):
        shutil.copyfile(source, directory / source.name)
    return directory


@needs_spider2_data
@pytest.mark.parametrize("result, gold", MRR_PAIRS)
def test_each_mrr_build_matches_the_others(spider2_copies: Path, result: str, gold: str) -> None:
    paths = [str(spider2_copies / f"{name}.duckdb") for name in (result, gold)]
    assert judged(*paths, ["mrr"], [list(range(12))], [True]).score == 1


@needs_spider2_data
def test_the_mrr_start_database_misses_the_table(spider2_copies: Path) -> None:
    report = judged(str(spider2_copies / "mrr_start.duckdb"), str(spider2_copies / "mrr_gold.duckdb"), ["mrr"],
                    [list(range(12))], [True])
    assert report.category == Category.TABLE_MISSING


@needs_spider2_data
def test_playbook_gold_matches_itself(spider2_copies: Path) -> None:
    gold = str(spider2_copies / "playbook_gold.duckdb")
    report = judged(gold, gold, ["attribution_touches"], [[15, 16, 17, 18]], [True])
    assert report.score == 1 and report.strict_score == 1


@needs_spider2_data
def test_playbook_start_misses_the_table(spider2_copies: Path) -> None:
    report = judged(str(spider2_copies / "playbook_start.duckdb"), str(spider2_copies / "playbook_gold.duckdb"),
                    ["attribution_touches"], [[15, 16, 17, 18]], [True], instance_id="playbook001")
    assert (report.score, report.category) == (0, Category.TABLE_MISSING)
    assert "attribution_touches" in report.message


@needs_spider2_data
def test_a_view_bound_to_its_own_catalog_is_read_with_external_access_off(tmp_path: Path) -> None:
    """playbook001's start holds a view over `playbook.main.*`: the file's own tables, not another file."""
    result = tmp_path / "playbook.duckdb"
    shutil.copyfile(SPIDER2_DUCKDB / "playbook_start_with_view.duckdb", result)
    gold = tmp_path / "gold.duckdb"
    shutil.copyfile(SPIDER2_DUCKDB / "playbook_gold.duckdb", gold)
    report = duckdb_match(str(result), str(gold), ["attribution_touches"], [[15, 16, 17, 18]], [True])
    assert report.score == 1, str(report)
