"""Properties of the judge on generated tables: the strict score is the row-multiset check, and reordering rows
never changes an ignore-order verdict (whatever the official code says, which each case is also checked against).

Cases come from a fixed seed (``SPIDER2_DIFFERENTIAL_SEED``, 0 by default) and their number from
``SPIDER2_DIFFERENTIAL_CASES`` (see test_official_differential.py); hypothesis keeps no example database.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from test_match_support import reference_score, scratch

from pytest_spider2dbt.match import duckdb_match, official

__all__ = ["scratch"]
pytestmark = pytest.mark.parity  # the verdict depends on the pandas and DuckDB versions

CASES = max(4, int(os.environ.get("SPIDER2_DIFFERENTIAL_CASES", "20")) // 3)
SEED = int(os.environ.get("SPIDER2_DIFFERENTIAL_SEED", "0"))
PROPERTY_SETTINGS = settings(max_examples=CASES, deadline=None, database=None, suppress_health_check=list(HealthCheck))

VALUES: dict[str, st.SearchStrategy[Any]] = {
    "INTEGER": st.one_of(st.none(), st.integers(-3, 12)),
    "DOUBLE": st.one_of(st.none(), st.sampled_from([0.0, 0.005, 1.0, 1.004, 1.0099, 9.99, 10.008, float("nan")])),
    "VARCHAR": st.one_of(st.none(), st.sampled_from(["", "a", "1", "nan", "None", "<NA>", "é"])),
    "DATE": st.one_of(st.none(), st.dates(dt.date(1999, 12, 30), dt.date(2000, 1, 2))),
    "BOOLEAN": st.one_of(st.none(), st.booleans()),
}


def literal(value: Any, sql_type: str) -> str:
    if value is None:
        return "NULL"
    text = repr(value) if isinstance(value, float) else str(value)
    return "CAST('" + text.replace("'", "''") + f"' AS {sql_type})"


def write(path: Path, columns: list[tuple[str, list[Any]]]) -> str:
    with duckdb.connect(str(path)) as connection:
        definition = ", ".join(f"c{i} {sql_type}" for i, (sql_type, _) in enumerate(columns))
        connection.execute(f"CREATE TABLE t ({definition})")
        rows = [", ".join(literal(values[row], sql_type) for sql_type, values in columns)
                for row in range(len(columns[0][1]))]
        if rows:
            connection.execute("INSERT INTO t VALUES " + ", ".join(f"({row})" for row in rows))
    return str(path)


_files = itertools.count()


Columns = list[tuple[str, list[Any]]]


def write_pair(directory: Path, gold: Columns, result: Columns) -> tuple[str, str]:
    number = next(_files)
    return write(directory / f"gold{number}.duckdb", gold), write(directory / f"result{number}.duckdb", result)


@st.composite
def tables(draw: st.DrawFn) -> list[tuple[str, list[Any]]]:
    rows = draw(st.integers(0, 6))
    types = draw(st.lists(st.sampled_from(list(VALUES)), min_size=1, max_size=3))
    return [(sql_type, draw(st.lists(VALUES[sql_type], min_size=rows, max_size=rows))) for sql_type in types]


def table_rows(path: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(path, read_only=True) as connection:
        frame = connection.execute("SELECT * FROM t").fetchdf()
    return [tuple(row) for row in frame.astype(object).itertuples(index=False)]


def rows_pair_up(gold: list[tuple[Any, ...]], result: list[tuple[Any, ...]]) -> bool:
    """Brute force: some one-to-one pairing makes every pair of rows agree value by value (official rule)."""
    if not gold:
        return not result

    def agree(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
        try:
            return all(official.values_agree(x, y) for x, y in zip(a, b, strict=True))
        except Exception:
            return False

    return any(agree(gold[0], row) and rows_pair_up(gold[1:], result[:i] + result[i + 1:])
               for i, row in enumerate(result))


@seed(SEED)
@PROPERTY_SETTINGS
@given(tables(), st.data())
def test_strict_score_is_the_row_multiset_check(scratch: Path, gold: list, data: st.DataObject) -> None:
    rows = len(gold[0][1])
    if data.draw(st.booleans(), label="whole rows"):
        order = data.draw(st.permutations(range(rows)))
        result = [(sql_type, [values[i] for i in order]) for sql_type, values in gold]
    else:
        result = [(sql_type, data.draw(st.permutations(values))) for sql_type, values in gold]
    gold_path, result_path = write_pair(scratch, gold, result)
    report = duckdb_match(result_path, gold_path, ["t"], [[]], [True])
    assert report.score == reference_score(result_path, gold_path, ["t"], [[]], [True])
    if report.score:
        assert report.strict_score == int(rows_pair_up(table_rows(gold_path), table_rows(result_path))), str(report)


@seed(SEED)
@PROPERTY_SETTINGS
@given(tables(), st.data())
def test_reordering_rows_never_changes_an_ignore_order_verdict(scratch: Path, gold: list, data: st.DataObject) -> None:
    rows = len(gold[0][1])
    order = data.draw(st.permutations(range(rows)))
    result = [(sql_type, [values[i] for i in order]) for sql_type, values in gold]
    gold_path, result_path = write_pair(scratch, gold, result)
    report = duckdb_match(result_path, gold_path, ["t"], None, [True])
    assert report.score == reference_score(result_path, gold_path, ["t"], None, [True]) == 1, str(report)
    assert report.strict_score == 1
