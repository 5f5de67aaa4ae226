"""Property tests: the fast verdict equals the simple reference (tests/reference_match.py) on generated tables.

Tables are written to real DuckDB files for the end-to-end properties, and handed over as DataFrames of many
pandas dtypes for the frame-level one. Each verdict is taken with pandas' own conversion (small frames) and
with the fast conversion forced on (LITERAL_CELL_LIMIT = 0); the end-to-end ones also with the fast conversion
on one side only, so that fast columns meet columns converted by pandas.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any, Iterator
from unittest import mock

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_spider2dbt import match
from reference_match import columns_match, reference_score, table_matches, values_agree

pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")

FLOAT_POOL = [0.0, -0.0, 0.005, 0.0099, 0.01, 0.0101, 1.0, 1.0000001, 1.0099, 1.0101, 9.99, 9.999, 10.0, 10.008,
              0.3, 0.1 + 0.2, 99.99, 1e16, 1e-5, 123456.789, float("inf"), float("-inf"), float("nan")]
TEXT_POOL = ["", "a", "A", "a ", "1", "1.0", "10", "9", "nan", "None", "<NA>", "NaT", "True", "é", "2020-01-01"]
SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=3)
MIDNIGHTS = [dt.datetime(1999, 12, 31), dt.datetime(2000, 1, 1), dt.datetime(2000, 1, 2)]


def _maybe_null(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), values, values)


SQL_TYPES: dict[str, st.SearchStrategy] = {
    "INTEGER": _maybe_null(st.integers(-3, 12)),
    "BIGINT": _maybe_null(st.one_of(st.integers(-3, 12), st.sampled_from([2**53 + 1, -(2**62), 10**15]))),
    "SMALLINT": _maybe_null(st.integers(-2, 3)),
    "DOUBLE": _maybe_null(st.one_of(st.sampled_from(FLOAT_POOL), st.floats(-20, 20).map(lambda x: round(x, 3)))),
    "FLOAT": _maybe_null(st.sampled_from([0.1, 1.0, 2.5, 10.0])),
    "DECIMAL(12,3)": _maybe_null(st.decimals(min_value=-20, max_value=20, places=3)),
    "VARCHAR": _maybe_null(st.one_of(st.sampled_from(TEXT_POOL), SAFE_TEXT)),
    "DATE": _maybe_null(st.dates(dt.date(1999, 12, 30), dt.date(2000, 1, 3))),
    "TIMESTAMP": _maybe_null(st.one_of(
        st.sampled_from(MIDNIGHTS),
        st.datetimes(dt.datetime(1999, 12, 31), dt.datetime(2000, 1, 2)),
    )),
    "TIMESTAMP_NS": _maybe_null(st.sampled_from(MIDNIGHTS)),
    "TIMESTAMPTZ": _maybe_null(st.sampled_from(MIDNIGHTS)),
    "BOOLEAN": _maybe_null(st.booleans()),
    "TIME": _maybe_null(st.times()),
    "INTEGER[]": _maybe_null(st.lists(st.integers(0, 2), max_size=2)),
    "INTERVAL": _maybe_null(st.integers(0, 3)),
}
COMMON_TYPES = ["INTEGER", "BIGINT", "DOUBLE", "DECIMAL(12,3)", "VARCHAR", "DATE", "TIMESTAMP", "BOOLEAN"]


def sql_literal(value: Any, sql_type: str) -> str:
    if value is None:
        return f"CAST(NULL AS {sql_type})"
    if sql_type == "BOOLEAN":
        return "TRUE" if value else "FALSE"
    if sql_type == "INTEGER[]":
        return f"CAST({list(value)} AS INTEGER[])"
    if sql_type == "INTERVAL":
        return f"INTERVAL '{value} days'"
    if isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, (dt.date, dt.time)):
        text = value.isoformat()
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = str(value)
    return "CAST('" + text.replace("'", "''") + f"' AS {sql_type})"


def write_database(path: Path, tables: dict[str, list[tuple[str, str, list]]]) -> None:
    """tables: name -> columns (name, SQL type, values)."""
    connection = duckdb.connect(str(path))
    try:
        for table, columns in tables.items():
            definition = ", ".join(f'"{name}" {sql_type}' for name, sql_type, _ in columns)
            connection.execute(f'CREATE TABLE "{table}" ({definition})')
            rows = len(columns[0][2]) if columns else 0
            if rows:
                values = ", ".join(
                    "(" + ", ".join(sql_literal(values[i], sql_type) for _, sql_type, values in columns) + ")"
                    for i in range(rows)
                )
                connection.execute(f'INSERT INTO "{table}" VALUES {values}')
    finally:
        connection.close()


def _rarely() -> st.SearchStrategy[bool]:
    """True about one time in ten (hypothesis favours small integers, so not integers(0, 9) == 0)."""
    return st.sampled_from([False] * 9 + [True])


@st.composite
def gold_tables(draw: st.DrawFn, types: list[str]) -> list[tuple[str, str, list]]:
    rows = draw(st.integers(0, 7))
    width = draw(st.integers(1, 4))
    columns = []
    for i in range(width):
        sql_type = draw(st.sampled_from(types))
        columns.append((f"c{i}", sql_type, draw(st.lists(SQL_TYPES[sql_type], min_size=rows, max_size=rows))))
    return columns


CONVERSIONS = {
    "INTEGER": [("DOUBLE", float), ("VARCHAR", str), ("BIGINT", int)],
    "BIGINT": [("DOUBLE", float), ("INTEGER", lambda v: max(-(2**31), min(2**31 - 1, v)))],
    "DOUBLE": [("VARCHAR", repr), ("DECIMAL(12,3)", lambda v: v if abs(v) < 1e8 else None)],
    "DECIMAL(12,3)": [("DOUBLE", float)],
    "DATE": [("TIMESTAMP", lambda d: dt.datetime(d.year, d.month, d.day)), ("VARCHAR", str)],
    "TIMESTAMP": [("DATE", lambda d: d.date()), ("TIMESTAMP_NS", lambda d: d)],
    "BOOLEAN": [("INTEGER", int), ("VARCHAR", lambda b: str(b).lower())],
    "VARCHAR": [("VARCHAR", str.upper)],
}


def _convert(column: tuple[str, str, list], target: str, function: Any) -> tuple[str, str, list]:
    name, _, values = column
    converted = []
    for value in values:
        if value is None or (isinstance(value, float) and not np.isfinite(value) and target != "VARCHAR"):
            converted.append(None if target not in ("DOUBLE",) else value)
            continue
        converted.append(function(value))
    return name, target, converted


@st.composite
def derived_tables(draw: st.DrawFn, gold: list[tuple[str, str, list]], types: list[str]) -> list[tuple[str, str, list]]:
    """A result table made from the gold one by the changes agents make: reordering, retyping, nudging..."""
    columns = [(name, sql_type, list(values)) for name, sql_type, values in gold]
    rows = len(columns[0][2])
    if rows and draw(st.booleans()):
        permutation = draw(st.permutations(range(rows)))
        columns = [(n, t, [v[i] for i in permutation]) for n, t, v in columns]
    if rows > 1 and draw(_rarely()):
        columns = [(n, t, draw(st.permutations(v))) for n, t, v in columns]
    for _ in range(draw(st.integers(0, 2))):
        index = draw(st.integers(0, len(columns) - 1))
        name, sql_type, values = columns[index]
        change = draw(st.sampled_from(["convert", "nudge", "null", "replace", "drop_row"]))
        if change == "convert" and sql_type in CONVERSIONS:
            target, function = draw(st.sampled_from(CONVERSIONS[sql_type]))
            columns[index] = _convert(columns[index], target, function)
        elif change == "nudge" and sql_type == "DOUBLE" and rows:
            row = draw(st.integers(0, rows - 1))
            if values[row] is not None:
                values[row] = values[row] + draw(st.sampled_from([0.0099, -0.0099, 0.0101, -0.0101, 1e-12]))
        elif change == "null" and rows:
            values[draw(st.integers(0, rows - 1))] = None
        elif change == "replace" and rows:
            values[draw(st.integers(0, rows - 1))] = draw(SQL_TYPES[sql_type])
        elif change == "drop_row" and rows:
            row = draw(st.integers(0, rows - 1))
            columns = [(n, t, v[:row] + v[row + 1:]) for n, t, v in columns]
            rows -= 1
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            columns.append(draw(st.sampled_from(columns)))
        else:
            sql_type = draw(st.sampled_from(types))
            columns.append(("extra", sql_type, draw(st.lists(SQL_TYPES[sql_type], min_size=rows, max_size=rows))))
    columns = draw(st.permutations(columns))
    return [(f"r{i}", sql_type, values) for i, (_, sql_type, values) in enumerate(columns)]


@st.composite
def scenarios(draw: st.DrawFn, types: list[str]) -> dict[str, Any]:
    table_count = draw(st.integers(1, 2))
    gold = {f"t{i}": draw(gold_tables(types)) for i in range(table_count)}
    result = {}
    for name, columns in gold.items():
        if draw(_rarely()):
            continue
        result[name.upper() if draw(_rarely()) else name] = draw(derived_tables(columns, types))
    if not result:
        result["unrelated"] = [("x", "INTEGER", [1])]
    some_tables = st.lists(st.sampled_from(list(gold)), min_size=1, max_size=2)
    tabs = draw(st.one_of(st.none(), st.just(list(gold)), some_tables))
    count = len(gold) if tabs is None else len(tabs)
    names = list(gold) if tabs is None else tabs

    def entry(name: str) -> st.SearchStrategy:
        width = len(gold[name])
        index = st.one_of(*[st.integers(-width, width - 1)] * 12, st.sampled_from([-width - 1, width]))
        return st.one_of(st.just([]), st.lists(index, min_size=1, max_size=4))

    cols = draw(st.one_of(st.none(), st.tuples(*[entry(name) for name in names]).map(list)))
    orders = draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=count, max_size=count)))
    if draw(_rarely()):
        orders = [True] * (count + 1)
    return {"gold": gold, "result": result, "tabs": tabs, "cols": cols, "orders": orders}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A RAM-backed directory when there is one: DuckDB syncs every file it closes, which dominates the run."""
    shared_memory = Path("/dev/shm")
    if shared_memory.is_dir() and os.access(shared_memory, os.W_OK):
        with tempfile.TemporaryDirectory(dir=shared_memory) as directory:
            yield Path(directory)
    else:
        yield tmp_path_factory.mktemp("property_dbs")


_counter = itertools.count()


def _literal_conversion_for(prefix: str) -> Any:
    """Send frames whose first column name starts with prefix (gold: c, result: r) through pandas' own
    conversion, so that fast columns meet literal ones; "" changes nothing."""
    plan = match._conversion_plan

    def choose(frame: pd.DataFrame) -> Any:
        if prefix and str(frame.columns[0]).startswith(prefix):
            return None
        return plan(frame)

    return mock.patch.object(match, "_conversion_plan", choose)


def _check_scenario(workdir: Path, scenario: dict[str, Any]) -> None:
    number = next(_counter)
    gold_path, result_path = workdir / f"gold{number}.duckdb", workdir / f"result{number}.duckdb"
    write_database(gold_path, scenario["gold"])
    write_database(result_path, scenario["result"])
    arguments = (str(result_path), str(gold_path), scenario["tabs"], scenario["cols"], scenario["orders"])
    expected = reference_score(*arguments)
    reports = [match.duckdb_match(*arguments)]
    for side in ("", "c", "r"):
        with mock.patch.object(match, "LITERAL_CELL_LIMIT", 0), _literal_conversion_for(side):
            reports.append(match.duckdb_match(*arguments))
    for report in reports:
        assert report.score == expected, str(report)
        assert report.category == reports[0].category
        assert report.strict_score <= report.score
    gold_path.unlink()
    result_path.unlink()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(COMMON_TYPES))
def test_common_types_agree_with_reference(workdir: Path, scenario: dict[str, Any]) -> None:
    _check_scenario(workdir, scenario)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(list(SQL_TYPES)))
def test_all_types_agree_with_reference(workdir: Path, scenario: dict[str, Any]) -> None:
    _check_scenario(workdir, scenario)


# ----------------------------------------------------------------------------------- frame-level property


def _pandas_column(kind: str, values: list) -> pd.Series:
    if kind == "int64":
        return pd.Series([0 if v is None else v for v in values], dtype="int64")
    if kind == "Int64":
        return pd.Series(values, dtype="Int64")
    if kind == "float64":
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    if kind == "str":
        return pd.Series(values, dtype="str")
    if kind.startswith("datetime64"):
        return pd.Series([pd.NaT if v is None else v for v in values], dtype=kind)
    if kind == "bool":
        return pd.Series([bool(v) for v in values], dtype="bool")
    if kind == "boolean":
        return pd.Series(values, dtype="boolean")
    return pd.Series(values, dtype=object)


FRAME_KINDS: dict[str, st.SearchStrategy] = {
    "int64": _maybe_null(st.integers(-3, 12)),
    "Int64": _maybe_null(st.integers(-3, 12)),
    "float64": _maybe_null(st.sampled_from(FLOAT_POOL)),
    "str": _maybe_null(st.sampled_from(TEXT_POOL)),
    "datetime64[us]": _maybe_null(st.sampled_from(MIDNIGHTS + [dt.datetime(2000, 1, 1, 0, 0, 0, 5)])),
    "datetime64[s]": _maybe_null(st.sampled_from(MIDNIGHTS)),
    "datetime64[ns]": _maybe_null(st.sampled_from(MIDNIGHTS)),
    "bool": st.booleans(),
    "boolean": _maybe_null(st.booleans()),
    "object": _maybe_null(st.one_of(
        st.integers(-2, 2), st.sampled_from([1.0, 0.005, "1", "a", decimal.Decimal("1.0"), dt.date(2000, 1, 1),
                                              pd.Timestamp("2000-01-01"), b"x", (1,), 2**1100])
    )),
}


@st.composite
def frame_pairs(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, Any, bool]:
    rows = draw(st.integers(0, 6))

    def frame(width_low: int) -> pd.DataFrame:
        width = draw(st.integers(width_low, 4))
        data = {}
        for i in range(width):
            kind = draw(st.sampled_from(list(FRAME_KINDS)))
            data[f"c{i}"] = _pandas_column(kind, draw(st.lists(FRAME_KINDS[kind], min_size=rows, max_size=rows)))
        return pd.DataFrame(data)

    gold = frame(1)
    if draw(st.booleans()):
        result = gold.iloc[draw(st.permutations(range(rows))), draw(st.permutations(range(gold.shape[1])))]
        result = result.reset_index(drop=True)
        if draw(st.booleans()):
            extra = frame(1)
            result = pd.concat([result, extra], axis=1) if len(extra) == len(result) else result
    else:
        result = frame(1)
    width = gold.shape[1]
    columns = draw(st.one_of(st.just([]), st.lists(st.integers(-width, width - 1), min_size=1, max_size=3)))
    return gold, result, columns, draw(st.booleans())


def _fast_table_passes(gold: pd.DataFrame, result: pd.DataFrame, columns: Any, ignore_order: bool) -> bool:
    verdict = match._Verdict(None, None, None)
    selection = match._select_gold(verdict, "t", gold, columns)
    if isinstance(selection, str):
        return False
    return match._grade_table("t", selection, result, ignore_order).passed


def _reference_table_passes(gold: pd.DataFrame, result: pd.DataFrame, columns: Any, ignore_order: bool) -> bool:
    try:
        return table_matches(result, gold, columns, ignore_order)
    except Exception:
        return False


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame_pairs())
def test_frames_of_many_dtypes_agree_with_reference(case: tuple[pd.DataFrame, pd.DataFrame, Any, bool]) -> None:
    gold, result, columns, ignore_order = case
    expected = _reference_table_passes(gold, result, columns, ignore_order)
    with mock.patch.object(match, "LITERAL_CELL_LIMIT", 0):
        assert _fast_table_passes(gold, result, columns, ignore_order) == expected
    assert _fast_table_passes(gold, result, columns, ignore_order) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_maybe_null(st.sampled_from(FLOAT_POOL)), max_size=6),
    st.lists(_maybe_null(st.sampled_from(FLOAT_POOL)), max_size=6),
    st.booleans(),
)
def test_numeric_columns_pair_like_the_reference(gold: list, result: list, ignore_order: bool) -> None:
    """Near-tolerance floats, infinities, NaN and NULL in one column each."""
    ids = match._Ids()
    gold_frame = pd.DataFrame({"g": pd.Series(gold, dtype="float64"), "s": ["x"] * len(gold)})
    result_frame = pd.DataFrame({"r": pd.Series(result, dtype="float64"), "s": ["x"] * len(result)})
    expected = columns_match(gold_frame.transpose().values.tolist()[0],
                             result_frame.transpose().values.tolist()[0], ignore_order)
    with mock.patch.object(match, "LITERAL_CELL_LIMIT", 0):
        gold_column = match._frame_columns(gold_frame, ids)[0]
        result_column = match._frame_columns(result_frame, ids)[0]
    assert match._columns_match(gold_column, result_column, ignore_order) == expected


@st.composite
def reordered_tables(draw: st.DrawFn) -> tuple[list, list]:
    """A gold table and the same table with its rows reordered, or with each column reordered on its own."""
    gold = draw(gold_tables(COMMON_TYPES))
    rows = len(gold[0][2])
    if draw(st.booleans()):
        permutation = draw(st.permutations(range(rows)))
        result = [(name, sql_type, [values[i] for i in permutation]) for name, sql_type, values in gold]
    else:
        result = [(name, sql_type, draw(st.permutations(values))) for name, sql_type, values in gold]
    return gold, result


def _table_rows(path: Path) -> list[tuple]:
    connection = duckdb.connect(str(path), read_only=True)
    try:
        frame = connection.execute("SELECT * FROM t").fetchdf()
    finally:
        connection.close()
    return [tuple(row) for row in frame.astype(object).itertuples(index=False)]


def _rows_pair_up(gold: list[tuple], result: list[tuple]) -> bool:
    """Brute force: some one-to-one pairing makes every pair of rows agree value by value."""
    if not gold:
        return not result

    def agree(a: tuple, b: tuple) -> bool:
        try:
            return all(values_agree(x, y) for x, y in zip(a, b))
        except Exception:
            return False

    return any(agree(gold[0], row) and _rows_pair_up(gold[1:], result[:i] + result[i + 1:])
               for i, row in enumerate(result))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reordered_tables())
def test_strict_score_is_the_row_multiset_check(workdir: Path, tables: tuple[list, list]) -> None:
    gold, result = tables
    number = next(_counter)
    gold_path, result_path = workdir / f"gold{number}.duckdb", workdir / f"result{number}.duckdb"
    write_database(gold_path, {"t": gold})
    write_database(result_path, {"t": result})
    report = match.duckdb_match(str(result_path), str(gold_path), ["t"], [[]], [True])
    assert report.score == 1
    assert report.strict_score == int(_rows_pair_up(_table_rows(gold_path), _table_rows(result_path))), str(report)


VALUE_POOL = [
    None, float("nan"), pd.NA, pd.NaT, 0, 1, -1, 2**53 + 1, True, False, 0.0, -0.0, 1.0, 1.005, 1.0101, 1e16,
    float("inf"), float("-inf"), "", "1", "1.0", "nan", "None", "True", "NaT", "2020-01-01",
    "2020-01-01 00:00:00", pd.Timestamp("2020-01-01"), dt.datetime(2020, 1, 1), pd.Timestamp("2020-01-01 00:00:01"),
    pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2020-01-01 01:00", tz="Europe/Paris"),
    dt.date(2020, 1, 1), dt.time(0, 0), dt.time(1, 0), dt.timedelta(days=1), pd.Timedelta(days=1),
    pd.Timedelta(0), uuid.UUID(int=1), b"1", b"x",
]


def test_every_pair_of_value_kinds_agrees_exactly_when_the_official_rule_says_so() -> None:
    """Kinds, numbers and identities decide agreement as the per-value rule does, for every pair of these
    values, including all the cross-type pairs (for which != is True or raises)."""
    ids = match._Ids()
    signatures = [match._classify(value, ids)[:3] for value in VALUE_POOL]
    for a, signature_a in zip(VALUE_POOL, signatures):
        for b, signature_b in zip(VALUE_POOL, signatures):
            try:
                expected = values_agree(a, b)
            except Exception:
                expected = False
            arrays = [np.array([part]) for part in (*signature_a, *signature_b)]
            agree = match._aligned_agreement(tuple(arrays[:3]), tuple(arrays[3:]))[0]
            assert agree == expected, (a, b)
