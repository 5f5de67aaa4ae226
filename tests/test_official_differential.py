"""Differential test: duckdb_match and match.official against the real official evaluator, on generated cases.

Each case is a pair of DuckDB files and an evaluator entry, drawn by hypothesis: tables of every DuckDB type that
``fetchdf`` hands over (integers up to HUGEINT and UBIGINT, DECIMAL(38,x), FLOAT and DOUBLE with values near the
tolerance, infinities and NaN, texts that look like other values, JSON, ENUM, BLOB, UUID, DATE, TIME, INTERVAL,
TIMESTAMP_S/MS/NS and TIMESTAMPTZ including values outside Python's datetime range, LIST, ARRAY, STRUCT, MAP, UNION
and VARIANT where this DuckDB has it), a result derived from the gold as agents change tables (rows reordered,
columns retyped, numbers nudged, values replaced, columns added, renamed or dropped), on both sides of the fast-path
size, with odd entries and table names, and result files that are corrupt, empty, truncated, WAL-only, missing or
written by an older DuckDB. Every case must get the real official score from both.

In CI the run is bounded and reproducible: a fixed seed and ``SPIDER2_DIFFERENTIAL_CASES`` cases (default 20). A
large run, e.g.::

    SPIDER2_DIFFERENTIAL_CASES=10000 SPIDER2_DIFFERENTIAL_SEED=1 .venv/bin/python -m pytest \\
        tests/test_official_differential.py -n 2 -p no:cacheprovider

runs each test function with that many cases (the seed varies the cases; hypothesis keeps no example database).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, example, given, reject, seed, settings
from hypothesis import strategies as st
from test_match_differential_values import POOL_VALUES, TYPES, conversions, has_variant
from test_match_support import SPIDER2_DUCKDB, needs_official, official_code, official_score, scratch

from pytest_spider2dbt.categories import JUDGE_CATEGORIES
from pytest_spider2dbt.match import FAST_PATH_MIN_CELLS, MatchReport, duckdb_match, official

__all__ = ["scratch"]

CASES = int(os.environ.get("SPIDER2_DIFFERENTIAL_CASES", "20"))
SEED = int(os.environ.get("SPIDER2_DIFFERENTIAL_SEED", "0"))
SHARDS = 2
"""The generated cases are split between this many tests (seeds), so that `-n 2` runs them in parallel."""
CASE_SETTINGS = settings(
    max_examples=max(1, CASES // SHARDS),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
pytestmark = [pytest.mark.parity, needs_official, pytest.mark.filterwarnings("error::RuntimeWarning")]


@dataclass
class Column:
    name: str
    sql_type: str
    values: list[str]
    """SQL expressions, one per row."""


@dataclass
class Table:
    name: str
    columns: list[Column]
    copies: int = 1
    """How many times the rows repeat (in order): more than one puts the table past the fast-path size."""
    schema: str = "main"

    @property
    def rows(self) -> int:
        return len(self.columns[0].values) if self.columns else 0


@dataclass
class Case:
    gold: list[Table]
    result: list[Table]
    tabs: Any = None
    cols: Any = None
    orders: Any = None
    result_file: str = "tables"
    """tables, or how the result file is broken: corrupt, empty, truncated, wal_only, missing, older:<name>."""
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------ strategies


def rarely(weight: int = 10) -> st.SearchStrategy[bool]:
    return st.sampled_from([False] * (weight - 1) + [True])


@st.composite
def columns(draw: st.DrawFn, rows: int, name: str) -> Column:
    sql_type = draw(st.sampled_from(list(TYPES)))
    pool = TYPES[sql_type]
    return Column(name, sql_type, draw(st.lists(st.sampled_from(pool), min_size=rows, max_size=rows)))


@st.composite
def gold_tables(draw: st.DrawFn, name: str) -> Table:
    rows = draw(st.integers(0, 6))
    width = draw(st.integers(1, 4))
    table = Table(name, [draw(columns(rows, f"c{i}")) for i in range(width)])
    if rows and draw(rarely(8)):
        table.copies = FAST_PATH_MIN_CELLS // (rows * width) + 1
    return table


def _nudged(value: str, delta: str) -> str:
    return f"TRY_CAST(({value}) + {delta} AS DOUBLE)"


@st.composite
def changed_column(draw: st.DrawFn, column: Column) -> Column:
    """One change an agent could make to a column."""
    values = list(column.values)
    change = draw(st.sampled_from(["convert", "nudge", "null", "replace", "permute"]))
    if change == "convert" and conversions(column.sql_type):
        target = draw(st.sampled_from(conversions(column.sql_type)))
        return Column(column.name, target, [f"TRY_CAST({value} AS {target})" for value in values])
    if not values:
        return column
    row = draw(st.integers(0, len(values) - 1))
    if change == "nudge" and column.sql_type in ("DOUBLE", "DECIMAL(38,10)", "INTEGER", "FLOAT"):
        values[row] = _nudged(values[row], draw(st.sampled_from(["0.004", "-0.0099", "0.0101", "1e-12"])))
        return Column(column.name, "DOUBLE", values)
    if change == "null":
        values[row] = "NULL"
    elif change == "replace":
        values[row] = draw(st.sampled_from(TYPES[column.sql_type]))
    elif change == "permute":
        values = draw(st.permutations(values))
    return Column(column.name, column.sql_type, values)


@st.composite
def derived_tables(draw: st.DrawFn, gold: Table) -> Table:
    """The result of an agent: the gold table reordered, retyped, nudged, widened, renamed, cut."""
    cols = [Column(c.name, c.sql_type, list(c.values)) for c in gold.columns]
    if gold.rows and draw(st.booleans()):
        order = draw(st.permutations(range(gold.rows)))
        cols = [Column(c.name, c.sql_type, [c.values[i] for i in order]) for c in cols]
    for _ in range(draw(st.integers(0, 2))):
        index = draw(st.integers(0, len(cols) - 1))
        cols[index] = draw(changed_column(cols[index]))
    if gold.rows and draw(rarely()):
        row = draw(st.integers(0, gold.rows - 1))
        cols = [Column(c.name, c.sql_type, c.values[:row] + c.values[row + 1:]) for c in cols]
    for _ in range(draw(st.integers(0, 2))):
        cols.append(draw(st.sampled_from(cols)) if draw(st.booleans()) else draw(columns(len(cols[0].values), "x")))
    cols = draw(st.permutations(cols))
    names = [f"r{i}" if draw(st.booleans()) else c.name for i, c in enumerate(cols)]
    names = [name if name not in names[:i] else f"{name}_{i}" for i, name in enumerate(names)]
    cols = [Column(name, c.sql_type, c.values) for name, c in zip(names, cols, strict=True)]
    table = Table(gold.name, cols, gold.copies)
    if draw(rarely(20)):
        table.name = gold.name.upper()
    if draw(rarely(30)):
        table.schema = "main_marts"
    return table


ODD_NAMES = [
    "t; CREATE TEMP TABLE tmp AS SELECT 7 AS c0; SELECT * FROM t0",
    "t0; USE main; SELECT * FROM t0",
    '"my table"',
    "main.t0",
    "T0",
    "(SELECT 1 AS c0)",
    "missing_table",
]


@st.composite
def entries(draw: st.DrawFn, gold: dict[str, Table], names: list[str]) -> Any:
    """condition_cols: None, or per table [] / positions (some past the end) / an entry only pandas reads."""
    if draw(st.booleans()):
        return None

    def entry(name: str) -> Any:
        width = len(gold[name].columns) if name in gold else 2
        index = st.one_of(*[st.integers(-width, width - 1)] * 10, st.sampled_from([-width - 1, width]))
        odd = st.sampled_from([(0,), 0, [True, False][:width], None, np.array([0])])
        odd_entries = [odd] if draw(rarely()) else []
        return draw(st.one_of(st.just([]), st.lists(index, min_size=1, max_size=4), *odd_entries))

    return [entry(name) for name in names]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    gold = {f"t{i}": draw(gold_tables(f"t{i}")) for i in range(draw(st.integers(1, 2)))}
    result = [draw(derived_tables(table)) for table in gold.values() if not draw(rarely(12))]
    some = st.lists(st.sampled_from(list(gold)), min_size=1, max_size=2)
    tabs = draw(st.one_of(st.none(), st.just(list(gold)), some))
    if tabs is not None and draw(rarely(15)):
        tabs = tabs + [draw(st.sampled_from(ODD_NAMES))]
    names = list(gold) if tabs is None else tabs
    orders: Any = draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=len(names), max_size=len(names))))
    if draw(rarely()):
        orders = draw(st.sampled_from([[True] * (len(names) + 1), [1] * len(names), ["yes"] * len(names),
                                       [np.array([True, False])] * len(names), [None] * len(names)]))
    result_file = "tables"
    if draw(rarely(12)):
        result_file = draw(st.sampled_from(["corrupt", "empty", "truncated", "wal_only", "missing", "older:mrr_gold",
                                            "older:playbook_start_with_view"]))
    return Case(list(gold.values()), result, tabs, draw(entries(gold, names)), orders, result_file)


# ---------------------------------------------------------------------------------------------- the files


def write_tables(connection: duckdb.DuckDBPyConnection, catalog: str, tables: list[Table]) -> None:
    for table in tables:
        if table.schema != "main":
            connection.execute(f'CREATE SCHEMA IF NOT EXISTS {catalog}."{table.schema}"')
        target, small = (f'{catalog}."{table.schema}"."{name}"' for name in (table.name, table.name + "__small"))
        definition = ", ".join(f'"{c.name}_{i}" {c.sql_type}' for i, c in enumerate(table.columns))
        connection.execute(f"CREATE TABLE {small} ({definition})")
        rows = [", ".join(c.values[row] for c in table.columns) for row in range(table.rows)]
        if rows:
            connection.execute(f"INSERT INTO {small} VALUES " + ", ".join(f"({row})" for row in rows))
        names = ", ".join(f'"{c.name}_{i}" AS "{c.name}"' for i, c in enumerate(table.columns))
        connection.execute(
            f"CREATE TABLE {target} AS SELECT {names} FROM (SELECT *, rowid AS __row FROM {small}) s, "
            f"range({table.copies}) r(__copy) ORDER BY __copy, __row"
        )
        connection.execute(f"DROP TABLE {small}")


def write_case(case: Case, directory: Path) -> tuple[str, str]:
    gold, result = directory / "gold.duckdb", directory / "result.duckdb"
    with duckdb.connect(str(gold)) as connection:
        write_tables(connection, "gold", case.gold)
        if case.result_file in ("tables", "truncated", "wal_only"):
            connection.execute(f"ATTACH '{result}' AS result")
            write_tables(connection, "result", case.result)
    if case.result_file == "wal_only":
        shutil.move(str(result), str(directory / "result_main.duckdb"))
        result.with_name("result.duckdb.wal").write_bytes(b"\x00" * 64)
    elif case.result_file == "truncated":
        result.write_bytes(result.read_bytes()[:12_288])
    elif case.result_file == "corrupt":
        result.write_bytes(b"\x00not a database" * 500)
    elif case.result_file == "empty":
        result.write_bytes(b"")
    elif case.result_file.startswith("older:"):
        shutil.copyfile(SPIDER2_DUCKDB / f"{case.result_file.split(':')[1]}.duckdb", result)
    return str(result), str(gold)


def check_case(case: Case, directory: Path) -> MatchReport:
    """Our verdict and match.official's, each against the real official score."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    try:
        result, gold = write_case(case, directory)
    except duckdb.ConversionException:
        reject()  # this DuckDB cannot build the case (duckdb 1.x raises in some TRY_CASTs of timestamps)
    config = (case.tabs, case.cols, case.orders)
    expected = official_score(result, gold, *config)
    report = duckdb_match(result, gold, *config)
    assert report.score == expected, f"official {expected}, ours:\n{report}"
    assert official.duckdb_match(result, gold, *config) == expected, "match.official differs from the official code"
    assert report.category in JUDGE_CATEGORIES and report.strict_score <= report.score
    assert "\n" not in report.message and MatchReport.from_dict(report.to_dict()) == report
    return report


# ------------------------------------------------------------------------------------------------- pinned


def _table(name: str, sql_type: str, *values: str, copies: int = 1) -> Table:
    return Table(name, [Column("c0", sql_type, list(values))], copies)


CLASS_A = Case([Table("t0", [Column("x", "TIMESTAMP", ["TIMESTAMP 'infinity'"]), Column("y", "INTEGER", ["1"])])],
               [Table("t0", [Column("x", "TIMESTAMP", ["TIMESTAMP 'infinity'"]), Column("y", "INTEGER", ["1"])])],
               ["t0"])
PAST_THRESHOLD = FAST_PATH_MIN_CELLS // 3 + 1
CLASS_B = Case(
    [_table("t0", "BIGINT", "999999999999999999", "5", "NULL", copies=PAST_THRESHOLD)],
    [_table("t0", "BIGINT", "1000000000000000000", "5", "NULL", copies=PAST_THRESHOLD)],
    ["t0"], None, [True],
)
CLASS_C = Case([_table("t0", "INTEGER", "1")], [_table("t0", "INTEGER", "1")],
               ["t0; CREATE TEMP TABLE tmp AS SELECT 7 AS a; SELECT * FROM t0", "tmp"])
UNION_TYPE = "UNION(t TIMESTAMP, s VARCHAR)"
CLASS_D = Case(
    [_table("t0", UNION_TYPE, "union_value(t := TIMESTAMP '2020-01-01')", "union_value(s := '2020-01-01 00:00:00')")],
    [_table("t0", UNION_TYPE, "union_value(s := '2020-01-01 00:00:00')", "union_value(t := TIMESTAMP '2020-01-01')")],
    ["t0"], None, [True],
)


# -------------------------------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the cases' files are written: in memory when the machine has /dev/shm, removed afterwards."""
    shared_memory = Path("/dev/shm")
    if shared_memory.is_dir() and os.access(shared_memory, os.W_OK):
        with tempfile.TemporaryDirectory(dir=shared_memory, prefix="spider2-differential-") as directory:
            yield Path(directory)
    else:
        yield tmp_path_factory.mktemp("differential")


@pytest.mark.parametrize("shard", range(SHARDS))
def test_the_judge_scores_every_case_as_the_official_code(case_dir: Path, shard: int) -> None:
    """CASES generated cases in all, SHARDS tests of their own seed each."""

    @seed(SEED * SHARDS + shard)
    @CASE_SETTINGS
    @given(cases())
    def check(case: Case) -> None:
        check_case(case, case_dir / f"shard{shard}")

    check()


@settings(database=None, deadline=None, phases=[Phase.explicit])
@example(CLASS_A)
@example(CLASS_B)
@example(CLASS_C)
@example(CLASS_D)
@given(cases())
def test_the_cases_of_issue_13_score_as_officially(case_dir: Path, case: Case) -> None:
    """The reproducers of the four classes, pinned (no example database needed)."""
    check_case(case, case_dir / "pinned")


VALUE_PAIRS = [(a, b) for a in POOL_VALUES for b in POOL_VALUES]


@pytest.mark.parametrize("ignore_order", [False, True])
def test_the_official_rule_agrees_with_the_official_code_on_every_pair_of_values(ignore_order: bool) -> None:
    """match.official on one-cell tables of every pair of Python values the conversion can hand over."""
    code = official_code()
    assert code is not None
    for a, b in VALUE_PAIRS:
        gold = pd.DataFrame({"g": pd.Series([a], dtype=object)})
        result = pd.DataFrame({"r": pd.Series([b], dtype=object)})
        expected = code.compare_pandas_table(result, gold, [], ignore_order)
        assert official.table_passes(result, gold, [], ignore_order) == bool(expected), (a, b)


@pytest.mark.skipif(
    not has_variant(), reason=f"DuckDB {duckdb.__version__} cannot store VARIANT columns in a new database file"
)
@seed(SEED)
@CASE_SETTINGS
@given(st.lists(st.sampled_from(TYPES["VARIANT"] if has_variant() else ["1"]), min_size=1, max_size=5),
       st.permutations(range(5)), st.booleans())
def test_variant_columns_of_look_alike_values(
    case_dir: Path, values: list[str], order: list[int], ignore: bool
) -> None:
    """Every kind of value in one column, in two orders."""
    shuffled = [values[i] for i in order if i < len(values)]
    case = Case([_table("t0", "VARIANT", *values)], [_table("t0", "VARIANT", *shuffled)], ["t0"], None, [ignore])
    check_case(case, case_dir / "variant")
