"""The official Spider2-DBT verdict (``duckdb_match``), computed fast, and the reason when it fails.

The score is the one of ``spider2-dbt/evaluation_suite/eval_utils.py::duckdb_match`` in the Spider2 repository
(with ``evaluate.py``'s rule that any exception scores 0): tables are read with ``SELECT * FROM <name>`` and
``fetchdf()``, each kept column becomes the list of Python values ``frame.transpose().values.tolist()`` hands
over, and two columns match when, after sorting each one by ``(x is None, str(x), isinstance(x, (int, float)))``
(ignore-order tables only), every pair of values at the same position is both missing, two numbers within
``math.isclose(..., abs_tol=0.01)``, or not ``!=``.

Instead of sorting Python lists once per pair of columns, each column is described once by numpy arrays: per
value a kind (missing, number, text, timestamp, ...), a float for numbers and an integer identity for other
values, plus the official sort order, computed once. Why that gives the same verdict:

* Values. Small frames, and frames with dtypes the fast path does not know, are converted by pandas itself.
  Otherwise each column is converted by a rule that mirrors pandas (the frame's common dtype decides: numpy
  tolist, or object where each column converts on its own), and the rule is checked against pandas on a probe
  of rows (first missing and first present value of every column) before it is trusted.
* Agreement. Values of different kinds never agree (their ``!=`` is True or raises); two missing values
  agree; numbers go through CPython's isclose formula, vectorised; other values agree exactly when equal, and
  identities are equal exactly for equal values (hash-consistent types only). Any other type (lists,
  decimals, ints beyond float range, ...) makes its column "exotic", compared value by value, literally.
* Order. Python values are sorted with the official key itself. Fast columns sort the same strings in three
  stable passes (key by key, the last first); timestamps with four-digit years print with fixed widths, so
  their strings sort chronologically, and the missing ones last.
* Shortcuts. Necessary conditions reject most pairs before any sort (counts per kind, numbers pairing within
  the tolerance once both sides are sorted numerically, equal multisets of identities); two columns holding the
  same multiset of values of the same Python types match without sorting, since their sorted sequences are
  then identical.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterator, Sequence

import duckdb
import numpy as np
import pandas as pd

try:
    from pandas.core.dtypes.cast import find_common_type
except ImportError:  # a pandas without it: every frame takes pandas' own conversion path
    find_common_type = None

ABS_TOLERANCE = 0.01
REL_TOLERANCE = 1e-9
# Frames with at most this many cells are converted by pandas itself; only larger ones use the fast path.
LITERAL_CELL_LIMIT = 20_000
SAMPLE_SIZE = 5
# Strict mode pairs up to this many rows that differ within the tolerance exactly (a bipartite matching).
STRICT_MATCHING_LIMIT = 300
MAX_FAILING_COLUMNS_SHOWN = 10
MAX_TABLES_LISTED = 20

CATEGORIES = (
    "passed",
    "table_missing",
    "row_count_mismatch",
    "value_mismatch",
    "config_error",
    "gold_missing",
    "no_result_db",
)

HINTS = {
    "passed": "",
    "table_missing": "build the model (dbt run) and check its schema and alias: dbt may have written it into a "
    "custom schema such as main_<schema>, or under another name",
    "row_count_mismatch": "the model's grain differs from gold: look for joins that fan out, missing filters "
    "or missing deduplication",
    "value_mismatch": "compare the SQL of the listed columns with the instruction; numbers must agree within "
    "0.01 and text exactly (case and whitespace count)",
    "config_error": "the evaluator config of this instance is inconsistent with its gold database; fix "
    "spider2_eval.jsonl or mark the instance as a known issue",
    "gold_missing": "check the gold folder and the gold file name in spider2_eval.jsonl; some instances ship "
    "without a usable gold database",
    "no_result_db": "check that the agent's dbt run wrote a DuckDB file and that the result path points at it "
    "(profiles.yml target)",
}

# Kinds of values. Two values can only agree when their kinds are equal; identities are compared for kinds from
# TEXT on, and are unique within a kind (texts and timestamps by value, the rest through a shared dictionary).
MISSING, NUMBER, TEXT, NAIVE_TIME, AWARE_TIME, DATE, CLOCK, DURATION, UUID_KIND, BYTES_KIND, EXOTIC = range(11)
KIND_COUNT = 11

_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MICROSECOND = dt.timedelta(microseconds=1)
_LARGEST_EXACT_INTEGER = 2**53
# Timestamps in this range print as 'YYYY-MM-DD HH:MM:SS[.ffffff]', so their string order is chronological.
_FIRST_FOUR_DIGIT_YEAR = np.datetime64("1000-01-01T00:00:00", "us")
_LAST_FOUR_DIGIT_YEAR = np.datetime64("9999-12-31T23:59:59.999999", "us")
_UTC_NAMES = {"UTC", "Etc/UTC", "utc"}
_MASKED_INTEGER_DTYPES = {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32"}


# --------------------------------------------------------------------------------------------------- reports


@dataclass
class ColumnReport:
    """How one graded gold column fared."""

    index: Any
    name: str
    matched: bool
    result_column: str | None = None
    result_index: int | None = None
    candidate: str | None = None
    candidate_index: int | None = None
    candidate_reason: str | None = None
    agreeing: int | None = None
    compared: int | None = None
    strict_partner: str | None = None
    samples: list[tuple[int, str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["index"] = _jsonable(self.index)
        data["samples"] = [list(sample) for sample in self.samples]
        return data


@dataclass
class TableReport:
    """How one graded table fared. status: passed, missing or unreadable (in the result), gold_unreadable,
    row_count_mismatch or value_mismatch."""

    name: str
    status: str
    ignore_order: bool | None = None
    gold_rows: int | None = None
    result_rows: int | None = None
    columns: list[ColumnReport] = field(default_factory=list)
    strict_passed: bool | None = None
    message: str = ""
    result_tables: list[str] = field(default_factory=list)
    found_elsewhere: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def failing_columns(self) -> list[ColumnReport]:
        return [column for column in self.columns if not column.matched]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["columns"] = [column.to_dict() for column in self.columns]
        return data


@dataclass
class MatchReport:
    """The official verdict (score), the strict one, and why."""

    score: int
    strict_score: int
    category: str
    message: str
    tables: list[TableReport] = field(default_factory=list)
    instance_id: str | None = None
    result_path: str | None = None
    gold_path: str | None = None

    def __bool__(self) -> bool:
        return self.score == 1

    def __str__(self) -> str:
        return self.render(color=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "score": self.score,
            "strict_score": self.strict_score,
            "category": self.category,
            "message": self.message,
            "result_path": self.result_path,
            "gold_path": self.gold_path,
            "tables": [table.to_dict() for table in self.tables],
        }

    def render(self, color: bool = False) -> str:
        return _render(self, _Palette(color))


# ------------------------------------------------------------------------------------------------ entry point


def duckdb_match(
    result: Any,
    gold: Any,
    condition_tabs: Any = None,
    condition_cols: Any = None,
    ignore_orders: Any = None,
    *,
    instance_id: str | None = None,
) -> MatchReport:
    """The official ``duckdb_match`` verdict on two DuckDB files, with the reason; never raises for bad input."""
    verdict = _Verdict(result, gold, instance_id)
    try:
        names = None if condition_tabs is None else list(condition_tabs)
    except TypeError:
        return verdict.fail("config_error", f"{verdict.who}: condition_tabs is not a list of table names")
    if names and iter(condition_tabs) is condition_tabs:
        return verdict.fail("config_error", f"{verdict.who}: condition_tabs is an iterator, which the official "
                            "code reads twice (the second time empty)")
    gold_tables = _read_gold(verdict, gold, names)
    if isinstance(gold_tables, MatchReport):
        return gold_tables
    names = [name for name, _ in gold_tables]
    settings = _table_settings(verdict, len(names), condition_cols, ignore_orders)
    if isinstance(settings, MatchReport):
        return settings
    selections = [
        _select_gold(verdict, name, frame, cols) for (name, frame), (cols, _) in zip(gold_tables, settings)
    ]
    config_errors = [selection for selection in selections if isinstance(selection, str)]
    if config_errors:
        return verdict.fail("config_error", config_errors[0])
    result_tables = _read_result(verdict, result, names)
    if isinstance(result_tables, MatchReport):
        return result_tables
    tables = [
        _grade_table(name, selection, result_table, ignore_order)
        for name, selection, result_table, (_, ignore_order) in zip(names, selections, result_tables, settings)
    ]
    return verdict.conclude(tables)


# The category a failing table stands for. Unreadable tables decide first (gold, then result); otherwise the
# first failing table, as the official loop stops at it.
_STATUS_CATEGORIES = {
    "gold_unreadable": "gold_missing",
    "missing": "table_missing",
    "unreadable": "table_missing",
    "row_count_mismatch": "row_count_mismatch",
    "value_mismatch": "value_mismatch",
}


class _Verdict:
    """Builds the MatchReport once the outcome is known."""

    def __init__(self, result: Any, gold: Any, instance_id: str | None) -> None:
        self.result_path = _path_text(result)
        self.gold_path = _path_text(gold)
        self.instance_id = instance_id
        self.who = f"instance {instance_id}" if instance_id else "this instance"

    def fail(self, category: str, message: str, tables: list[TableReport] | None = None) -> MatchReport:
        return MatchReport(0, 0, category, message, tables or [], self.instance_id, self.result_path, self.gold_path)

    def conclude(self, tables: list[TableReport]) -> MatchReport:
        for status in ("gold_unreadable", "missing", "unreadable"):
            failing = [table for table in tables if table.status == status]
            if failing:
                return self.fail(_STATUS_CATEGORIES[status], failing[0].message, tables)
        first_failure = next((table for table in tables if not table.passed), None)
        if first_failure is not None:
            return self.fail(_STATUS_CATEGORIES[first_failure.status], first_failure.message, tables)
        strict = int(all(table.strict_passed for table in tables))
        message = f"all {len(tables)} graded table(s) match"
        if not strict:
            loose = [table.name for table in tables if not table.strict_passed]
            message += f"; strict: rows of {', '.join(loose)} differ (columns only match one by one)"
        return MatchReport(1, strict, "passed", message, tables, self.instance_id, self.result_path, self.gold_path)


def _path_text(path: Any) -> str | None:
    if path is None:
        return None
    return os.fspath(path) if isinstance(path, (str, os.PathLike)) else str(path)


# ------------------------------------------------------------------------------------------------- reading


def _connect(path: Any) -> duckdb.DuckDBPyConnection:
    if path is None:
        raise FileNotFoundError("no database path")
    database = os.fspath(path) if isinstance(path, os.PathLike) else path
    return duckdb.connect(database=database, read_only=True)


def _fetch_table(connection: duckdb.DuckDBPyConnection, name: Any) -> pd.DataFrame:
    """The table as the official code reads it: the name unquoted, so DuckDB resolves it in the default schema."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return connection.execute(f"SELECT * FROM {name}").fetchdf()


def _open_failure(role: str, path: Any, error: Exception) -> str:
    text = _path_text(path)
    if text is None:
        return f"no {role} database given"
    if not os.path.exists(text):
        return f"{role} database not found: {text}"
    if os.path.isdir(text):
        return f"{role} database path is a directory: {text}"
    if "not a valid DuckDB database" in str(error):
        return f"{role} file is corrupt or not a DuckDB database: {text}"
    return f"{role} database cannot be opened: {text} ({_one_line(error)})"


def _read_gold(verdict: _Verdict, path: Any, names: list[Any] | None) -> list[tuple[Any, pd.DataFrame]] | MatchReport:
    """The graded gold tables (all of SHOW TABLES when names is None); the file is not opened for no tables."""
    if names == []:
        return []
    try:
        connection = _connect(path)
    except Exception as error:
        return verdict.fail("gold_missing", _open_failure("gold", path, error))
    tables = []
    try:
        if names is None:
            names = [row[0] for row in connection.execute("SHOW TABLES").fetchall()]
        for name in names:
            try:
                tables.append((name, _fetch_table(connection, name)))
            except Exception as error:
                return verdict.fail("gold_missing", f"table {name!r} cannot be read from the gold database "
                                    f"{verdict.gold_path}: {_one_line(error)}")
    except Exception as error:
        return verdict.fail("gold_missing", f"gold database {verdict.gold_path} cannot be read: {_one_line(error)}")
    finally:
        connection.close()
    return tables


def _read_result(verdict: _Verdict, path: Any, names: list[Any]) -> list[pd.DataFrame | TableReport] | MatchReport:
    """Each graded table as a DataFrame, or a TableReport saying why it cannot be read."""
    if not names:
        return []
    try:
        connection = _connect(path)
    except Exception as error:
        return verdict.fail("no_result_db", _open_failure("result", path, error))
    tables: list[pd.DataFrame | TableReport] = []
    try:
        for name in names:
            try:
                tables.append(_fetch_table(connection, name))
            except Exception as error:
                tables.append(_unreadable_table(connection, name, error))
    finally:
        connection.close()
    return tables


def _unreadable_table(connection: duckdb.DuckDBPyConnection, name: Any, error: Exception) -> TableReport:
    existing, here, elsewhere = _tables_in(connection, str(name))
    if isinstance(error, duckdb.CatalogException) and not here:
        message = f"table {name!r} is missing from the result"
        if elsewhere:
            message += f"; it exists as {', '.join(elsewhere)} (another schema)"
        else:
            message += f" (it has: {_listing(existing)})"
        return TableReport(str(name), "missing", message=message, result_tables=existing, found_elsewhere=elsewhere)
    message = f"table {name!r} cannot be read from the result: {_one_line(error)}"
    return TableReport(str(name), "unreadable", message=message, result_tables=existing, found_elsewhere=elsewhere)


def _tables_in(connection: duckdb.DuckDBPyConnection, name: str) -> tuple[list[str], bool, list[str]]:
    """All tables and views of the result; whether one called `name` is in the default schema; those called
    `name` in other schemas."""
    try:
        default_schema = connection.execute("SELECT current_schema()").fetchone()[0]
        rows = connection.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1, 2"
        ).fetchall()
    except Exception:
        return [], False, []
    wanted = name.split(".")[-1].strip('"').lower()
    qualified = [table if schema == default_schema else f"{schema}.{table}" for schema, table in rows]
    named = [(schema, table) for schema, table in rows if table.lower() == wanted]
    here = any(schema == default_schema for schema, _ in named)
    return qualified, here, [f"{schema}.{table}" for schema, table in named if schema != default_schema]


def _listing(names: list[str]) -> str:
    if not names:
        return "no tables"
    shown = ", ".join(names[:MAX_TABLES_LISTED])
    return shown + (f", ... and {len(names) - MAX_TABLES_LISTED} more" if len(names) > MAX_TABLES_LISTED else "")


# ------------------------------------------------------------------------------------------------- config


def _table_settings(
    verdict: _Verdict, table_count: int, condition_cols: Any, ignore_orders: Any
) -> list[tuple[Any, Any]] | MatchReport:
    """(condition_cols entry, ignore_orders entry) per table, with the official defaults and length checks."""
    if ignore_orders is None:
        ignore_orders = [False] * table_count
    if condition_cols is None:
        condition_cols = [[]] * table_count
    for label, values in (("ignore_orders", ignore_orders), ("condition_cols", condition_cols)):
        try:
            size = len(values)
        except Exception:
            return verdict.fail("config_error", f"{verdict.who}: {label} has no length ({values!r})")
        if size != table_count:
            return verdict.fail(
                "config_error",
                f"{verdict.who}: condition_tabs has {table_count} table(s) but {label} has {size} entr"
                f"{'y' if size == 1 else 'ies'}",
            )
    try:
        return [(condition_cols[i], ignore_orders[i]) for i in range(table_count)]
    except Exception as error:
        return verdict.fail("config_error", f"{verdict.who}: cannot index the config lists ({_one_line(error)})")


@dataclass
class _GoldSelection:
    """The graded gold columns of one table: positions (as given and resolved), or pandas' own selection."""

    frame: pd.DataFrame
    given: list[Any]
    positions: list[int]
    literal: Any = None


def _select_gold(verdict: _Verdict, name: Any, gold: pd.DataFrame, entry: Any) -> _GoldSelection | str:
    """The kept gold columns (``[]`` = all), or a config error message naming the instance, table and index."""
    width = gold.shape[1]
    if type(entry) is list and all(type(index) is int for index in entry):
        if not entry:
            return _GoldSelection(gold, list(range(width)), list(range(width)))
        for index in entry:
            if not -width <= index < width:
                return (f"{verdict.who}: condition_cols index {index} is past the end of gold table {name!r} "
                        f"({width} columns)")
        return _GoldSelection(gold, list(entry), [index % width for index in entry])
    try:
        selection = gold.iloc[:, entry] if entry != [] else gold
    except Exception as error:
        return (f"{verdict.who}: condition_cols entry {entry!r} cannot select columns of gold table {name!r}: "
                f"{_one_line(error)}")
    return _GoldSelection(gold, [], [], literal=selection)


def _truth(value: Any) -> bool | None:
    """bool(value), or None when that raises (the official comparison then fails every pair)."""
    try:
        return bool(value)
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------- identities


class _Ids:
    """Identities shared by the columns of one table, so that equal values get equal identities."""

    def __init__(self) -> None:
        self.texts: dict[str, int] = {}
        self.objects: dict[Any, int] = {}

    def text(self, value: str) -> int:
        return self.texts.setdefault(value, len(self.texts))

    def texts_of(self, values: Sequence[str]) -> np.ndarray:
        setdefault, texts = self.texts.setdefault, self.texts
        return np.fromiter((setdefault(value, len(texts)) for value in values), np.int64, len(values))

    def other(self, kind: int, value: Any) -> int:
        return self.objects.setdefault((kind, value), len(self.objects))


# ------------------------------------------------------------------------------------------------- columns


class _Column:
    """One column as the official comparison sees it: per value a kind, a number or an identity."""

    def __init__(
        self,
        kinds: np.ndarray,
        numbers: np.ndarray,
        idents: np.ndarray,
        tags: dict[int, set[str]],
        order: Callable[[], np.ndarray | None],
        python_values: Callable[[np.ndarray], list],
        exact_numbers: bool = True,
    ) -> None:
        self.kinds = kinds
        self.numbers = numbers
        self.idents = idents
        self.tags = tags
        self.exact_numbers = exact_numbers
        self.exotic = EXOTIC in tags
        self._order = order
        self.python_values = python_values

    @property
    def length(self) -> int:
        return len(self.kinds)

    @cached_property
    def official_order(self) -> np.ndarray | None:
        """Positions in the order the official sort puts the values, or None when that sort raises."""
        return self._order()

    @cached_property
    def sorted_signature(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        order = self.official_order
        if order is None:
            return None
        return _take(self.kinds, order), _take(self.numbers, order), _take(self.idents, order)

    @cached_property
    def kind_counts(self) -> np.ndarray:
        return np.bincount(self.kinds, minlength=KIND_COUNT)

    @cached_property
    def finite_bound(self) -> float:
        numbers = self.numbers[self.kinds == NUMBER]
        finite = np.abs(numbers[np.isfinite(numbers)])
        return float(finite.max()) if finite.size else 0.0

    @cached_property
    def number_ends(self) -> tuple[float, float]:
        numbers = self.numbers[self.kinds == NUMBER]
        return float(numbers.min()), float(numbers.max())

    @cached_property
    def sorted_numbers(self) -> np.ndarray:
        return np.sort(self.numbers[self.kinds == NUMBER])

    def other_keys(self) -> np.ndarray:
        """Kind and identity of each non-number, non-missing value in one integer (injective for our ranges)."""
        others = self.kinds >= TEXT
        return self.idents[others].astype(np.uint64) * np.uint64(16) + self.kinds[others].astype(np.uint64)

    @cached_property
    def other_fingerprint(self) -> tuple[int, int]:
        keys = self.other_keys()
        return int(keys.sum(dtype=np.uint64)), int((keys * keys).sum(dtype=np.uint64))

    @cached_property
    def sorted_other_keys(self) -> np.ndarray:
        keys = self.other_keys()
        keys.sort()
        return keys

    @cached_property
    def uniform_tags(self) -> frozenset[str] | None:
        """The Python types of the values when each kind has a single one (their str is then a function of
        the value), else None."""
        if any(len(tags) != 1 for tags in self.tags.values()):
            return None
        return frozenset(f"{kind}:{next(iter(tags))}" for kind, tags in self.tags.items())

    @cached_property
    def all_python_values(self) -> list:
        return self.python_values(np.arange(self.length))

    @cached_property
    def literally_sorted(self) -> list | None:
        try:
            return sorted(self.all_python_values, key=_official_sort_key)
        except Exception:
            return None

    def view(self, ignore_order: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        return self.sorted_signature if ignore_order else (self.kinds, self.numbers, self.idents)

    def position_to_row(self, position: int, ignore_order: bool) -> int:
        return int(self.official_order[position]) if ignore_order else position


def _constant(size: int, value: Any, dtype: Any) -> np.ndarray:
    """A read-only array of one value that takes no memory (a broadcast view)."""
    return np.broadcast_to(np.array(value, dtype=dtype), (size,))


def _take(array: np.ndarray, order: np.ndarray) -> np.ndarray:
    """array[order], without materialising constant arrays."""
    return array if array.strides[0] == 0 else array[order]


def _official_sort_key(value: Any) -> tuple[bool, str, bool]:
    return (value is None, str(value), isinstance(value, (int, float)))


def _official_order(
    strings: np.ndarray | list[str], is_none: np.ndarray | None = None, is_number: np.ndarray | None = None
) -> np.ndarray:
    """Stable order by (is None, str, is number), done as three stable passes from the last key to the first.

    `strings` is a numpy unicode array only when no value holds a NUL character (numpy ignores trailing NULs);
    otherwise a list, sorted by Python itself.
    """
    order = np.arange(len(strings))
    if is_number is not None and is_number.any() and not is_number.all():
        order = np.argsort(is_number, kind="stable")
    if isinstance(strings, np.ndarray):
        order = order[np.argsort(strings[order], kind="stable")]
    else:
        order = np.array(sorted(order.tolist(), key=strings.__getitem__), dtype=np.intp)
    if is_none is not None and is_none.any() and not is_none.all():
        order = order[np.argsort(is_none[order], kind="stable")]
    return order


def _chronological_order(micros: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """The official order of four-digit-year timestamps: their strings sort chronologically, and the missing
    ones (NaT, whose str starts with a letter, or None) come last."""
    return np.lexsort((micros, missing))


# ------------------------------------------------------------------------------------ generic (Python values)


def _classify(value: Any, ids: _Ids) -> tuple[int, float, int, str]:
    """Kind, number, identity and type tag of one Python value, as the official comparison treats it."""
    if value is None:
        return MISSING, 0.0, 0, "None"
    value_type = type(value)
    if value_type is float:
        return (MISSING, 0.0, 0, "nan") if value != value else (NUMBER, value, 0, "float")
    if value_type is int or value_type is bool:
        try:
            return NUMBER, float(value), 0, value_type.__name__
        except OverflowError:
            return EXOTIC, 0.0, 0, "int"
    if value_type is str:
        return TEXT, 0.0, ids.text(value), "str"
    if value is pd.NA:
        return MISSING, 0.0, 0, "NA"
    if value is pd.NaT:
        return MISSING, 0.0, 0, "NaT"
    if value_type is pd.Timestamp or value_type is dt.datetime:
        return _classify_datetime(value, value_type)
    if value_type is dt.date:
        return DATE, 0.0, ids.other(DATE, value), "date"
    if value_type is dt.time and value.tzinfo is None:
        return CLOCK, 0.0, ids.other(CLOCK, value), "time"
    if value_type is dt.timedelta or (value_type is pd.Timedelta and not value.nanoseconds):
        return DURATION, 0.0, ids.other(DURATION, value // _MICROSECOND), value_type.__name__
    if value_type is uuid.UUID:
        return UUID_KIND, 0.0, ids.other(UUID_KIND, value), "UUID"
    if value_type is bytes:
        return BYTES_KIND, 0.0, ids.other(BYTES_KIND, value), "bytes"
    return EXOTIC, 0.0, 0, value_type.__name__


def _classify_datetime(value: Any, value_type: type) -> tuple[int, float, int, str]:
    """Naive timestamps compare by wall time, pandas' aware ones by instant; both become microseconds."""
    if value_type is pd.Timestamp:
        if value.nanosecond:
            return EXOTIC, 0.0, 0, "Timestamp"
        plain = value.to_pydatetime()
    else:
        plain = value
    if plain.tzinfo is None:
        return NAIVE_TIME, 0.0, (plain - _EPOCH) // _MICROSECOND, value_type.__name__
    if value_type is not pd.Timestamp or plain.utcoffset() is None:
        return EXOTIC, 0.0, 0, value_type.__name__
    return AWARE_TIME, 0.0, (plain - _EPOCH_UTC) // _MICROSECOND, f"Timestamp:{value.tz}"


def _generic_column(values: list, ids: _Ids) -> _Column:
    """A column from the exact Python values the official comparison gets."""
    kinds, numbers, idents = [], [], []
    tags: dict[int, set[str]] = {}
    exact = True
    for value in values:
        kind, number, ident, tag = _classify(value, ids)
        kinds.append(kind)
        numbers.append(number)
        idents.append(ident)
        tags.setdefault(kind, set()).add(tag)
        if tag == "int" and not -_LARGEST_EXACT_INTEGER <= value <= _LARGEST_EXACT_INTEGER:
            exact = False

    def order() -> np.ndarray | None:
        try:
            return np.array(sorted(range(len(values)), key=lambda i: _official_sort_key(values[i])), dtype=np.intp)
        except Exception:
            return None

    return _Column(
        np.array(kinds, dtype=np.int8),
        np.array(numbers, dtype=np.float64),
        np.array(idents, dtype=np.int64),
        tags,
        order,
        lambda rows: [values[row] for row in rows],
        exact,
    )


def _pandas_value_lists(frame: pd.DataFrame) -> list[list]:
    """The official conversion itself."""
    return frame.transpose().values.tolist()


# ------------------------------------------------------------------------ fast path (columns from numpy)


class _NeedsLiteral(Exception):
    """The fast conversion does not cover these values; pandas' own conversion is used instead."""


class _Converter:
    """Turns one column of a frame into a _Column, reproducing what ``frame.transpose().values`` gives.

    ``python_values`` states the conversion rule on a few rows; it is checked against pandas on a probe of
    rows before the fast path is trusted, and it provides values for display and for exotic partners.
    """

    def column(self, series: pd.Series, ids: _Ids) -> _Column:
        raise NotImplementedError

    def python_values(self, series: pd.Series, rows: np.ndarray) -> list:
        raise NotImplementedError

    def _column(self, series: pd.Series, kinds, numbers, idents, tags, order, exact: bool = True) -> _Column:
        return _Column(kinds, numbers, idents, tags, order, lambda rows: self.python_values(series, rows), exact)


class _IntConverter(_Converter):
    """Numpy integers become Python ints (cast to the frame's common integer type first when there is one)."""

    def __init__(self, target: np.dtype | None) -> None:
        self.target = target

    def _array(self, series: pd.Series) -> np.ndarray:
        array = series.to_numpy()
        return array if self.target is None else array.astype(self.target, copy=False)

    def python_values(self, series: pd.Series, rows: np.ndarray) -> list:
        return self._array(series)[rows].tolist()

    def column(self, series: pd.Series, ids: _Ids) -> _Column:
        array = self._array(series)
        size = len(array)
        exact = size == 0 or -_LARGEST_EXACT_INTEGER <= int(array.min()) <= int(array.max()) <= _LARGEST_EXACT_INTEGER
        return self._column(
            series,
            _constant(size, NUMBER, np.int8),
            array.astype(np.float64),
            _constant(size, 0, np.int64),
            {NUMBER: {"int"}},
            lambda: _official_order(array.astype(str)),
            exact,
        )


class _FloatConverter(_Converter):
    """Numpy floats (or numbers cast to the frame's common float type) become Python floats; NaN is missing."""

    def __init__(self, target: np.dtype | None) -> None:
        self.target = target

    def _array(self, series: pd.Series) -> np.ndarray:
        array = series.to_numpy()
        if self.target is not None:
            array = array.astype(self.target, copy=False)
        return array.astype(np.float64, copy=False)

    def python_values(self, series: pd.Series, rows: np.ndarray) -> list:
        return self._array(series)[rows].tolist()

    def column(self, series: pd.Series, ids: _Ids) -> _Column:
        numbers = self._array(series)
        nan = np.isnan(numbers)
        tags = {NUMBER: {"float"}} if not nan.all() else {}
        if nan.any():
            tags[MISSING] = {"nan"}
        return self._column(
            series,
            np.where(nan, MISSING, NUMBER).astype(np.int8),
            numbers,
            _constant(len(numbers), 0, np.int64),
            tags,
            lambda: _official_order(list(map(repr, numbers.tolist()))),
        )


def _bool_strings(values: np.ndarray) -> np.ndarray:
    return np.where(values, "True", "False")


class _BoolConverter(_Converter):
    """Numpy booleans become Python bools, which the official comparison counts as numbers."""

    def python_values(self, series: pd.Series, rows: np.ndarray) -> list:
        return series.to_numpy()[rows].tolist()

    def column(self, series: pd.Series, ids: _Ids) -> _Column:
        array = series.to_numpy()
        return self._column(
            series,
            _constant(len(array), NUMBER, np.int8),
            array.astype(np.float64),
            _constant(len(array), 0, np.int64),
            {NUMBER: {"bool"}},
            lambda: _official_order(_bool_strings(array)),
        )


class _MaskedConverter(_Converter):
    """Nullable Int*/boolean columns become Python ints or bools, and pd.NA where NULL."""

    def __init__(self, boolean: bool) -> None:
        self.boolean = boolean

    def _data(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        mask = series.isna().to_numpy()
        if self.boolean:
            return series.array.to_numpy(dtype=bool, na_value=False), mask
        return series.array.to_numpy(dtype=np.int64, na_value=0), mask

    def python_values(self, series: pd.Series, rows: np.ndarray) -> list:
        data, mask = self._data(series)
        return [pd.NA if missing else value for value, missing in zip(data[rows].tolist(), mask[rows].tolist())]

    def column(self, series: pd.Series, ids: _Ids) -> _Column:
        data, mask = self._data(series)
        tags: dict[int, set[str]] = {NUMBER: {"bool" if self.boolean else "int"}} if not mask.all() else {}
        if mask.any():
            tags[MISSING] = {"NA"}

        def order() -> np.ndarray:
            strings = _bool_strings(data) if self.boolean else data.astype(str)
            return _official_order(np.where(mask, "<NA>", strings), is_number=~mask)

        return self._column(
            series,
            np.where(mask, MISSING, NUMBER).astype(np.int8),
            data.astype(np.float64),
            _constant(len(data), 0, np.int64),
            tags,
            order,
        )


class _TextConverter(_Converter):
    """pandas' str columns become Python strs, and the dtype's missing value (NaN or pd.NA) where NULL."""

    def _data(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray, Any]:
        return series.to_numpy(dtype=object), series.isna().to_numpy(), series.dtype.na_value

    def python_values(self, series: pd.Series, rows: np.ndarray) -> list:
        objects, mask, missing_value = self._data(series)
        return [missing_value if missing else value for value, missing in zip(objects[rows], mask[rows])]

    def column(self, series: pd.Series, ids: _Ids) -> _Column:
        objects, mask, missing_value = self._data(series)
        present = objects[~mask]
        if set(map(type, present)) - {str}:
            raise _NeedsLiteral
        codes, uniques = pd.factorize(present)
        idents = np.zeros(len(objects), np.int64)
        idents[~mask] = ids.texts_of(uniques.tolist())[codes]
        tags: dict[int, set[str]] = {TEXT: {"str"}} if present.size else {}
        if mask.any():
            tags[MISSING] = {_classify(missing_value, ids)[3]}
        kinds = np.where(mask, MISSING, TEXT).astype(np.int8)
        return self._column(
            series, kinds, _constant(len(objects), 0.0, np.float64), idents, tags, lambda: self._order(series)
        )

    def _order(self, series: pd.Series) -> np.ndarray:
        objects, mask, missing_value = self._data(series)
        strings = objects.tolist()
        missing_text = str(missing_value)
        for position in np.flatnonzero(mask).tolist():
            strings[position] = missing_text
        is_number = mask if isinstance(missing_value, float) else None
        is_none = mask if missing_value is None else None
        return _official_order(strings, is_none=is_none, is_number=is_number)


class _DatetimeConverter(_Converter):
    """Naive datetime64 columns: pd.Timestamp/NaT in an object frame, datetime.datetime/None in an
    all-datetime frame (numpy's tolist). Only years 1000-9999, whose strings sort chronologically."""

    def __init__(self, target: np.dtype | None, aware: bool = False) -> None:
        self.target = target
        self.aware = aware

    def _array(self, series: pd.Series) -> np.ndarray:
        if self.aware:
            return series.dt.tz_localize(None).to_numpy()
        array = series.to_numpy()
        return array if self.target is None else array.astype(self.target, copy=False)

    def python_values(self, series: pd.Series, rows: np.ndarray) -> list:
        array = self._array(series)[rows]
        if self.target is not None:
            return array.tolist()
        tz = series.dt.tz if self.aware else None
        return [pd.NaT if np.isnat(value) else pd.Timestamp(value, tz=tz) for value in array]

    def column(self, series: pd.Series, ids: _Ids) -> _Column:
        array = self._array(series)
        missing = np.isnat(array)
        present = array[~missing]
        if present.size and (present.min() < _FIRST_FOUR_DIGIT_YEAR or present.max() > _LAST_FOUR_DIGIT_YEAR):
            raise _NeedsLiteral
        kind = AWARE_TIME if self.aware else NAIVE_TIME
        python_type = "datetime" if self.target is not None else "Timestamp"
        if self.aware:
            python_type += f":{series.dt.tz}"
        tags: dict[int, set[str]] = {kind: {python_type}} if present.size else {}
        if missing.any():
            tags[MISSING] = {"NaT" if self.target is None else "None"}
        kinds = np.where(missing, MISSING, kind).astype(np.int8)
        micros = np.where(missing, 0, array.astype("datetime64[us]").view(np.int64))
        return self._column(
            series,
            kinds,
            _constant(len(array), 0.0, np.float64),
            micros,
            tags,
            lambda: _chronological_order(micros, kinds == MISSING),
        )


class _ObjectConverter(_Converter):
    """Object columns (TIME, UUID, BLOB, LIST, ...) hand over their Python objects as they are."""

    def python_values(self, series: pd.Series, rows: np.ndarray) -> list:
        return series.to_numpy()[rows].tolist()

    def column(self, series: pd.Series, ids: _Ids) -> _Column:
        return _generic_column(series.to_numpy().tolist(), ids)


def _datetime_unit(dtype: Any) -> str | None:
    return np.datetime_data(dtype)[0] if isinstance(dtype, np.dtype) and dtype.kind == "M" else None


def _object_frame_converter(dtype: Any) -> _Converter | None:
    """How a column converts when the frame's values go through object (mixed dtypes): each on its own."""
    if isinstance(dtype, np.dtype):
        if dtype.kind == "i" or (dtype.kind == "u" and dtype.itemsize < 8):
            return _IntConverter(None)
        if dtype.kind == "f":
            return _FloatConverter(None)
        if dtype.kind == "b":
            return _BoolConverter()
        if dtype.kind == "M" and _datetime_unit(dtype) in ("s", "ms", "us"):
            return _DatetimeConverter(None)
        if dtype.kind == "O":
            return _ObjectConverter()
        return None
    if isinstance(dtype, pd.DatetimeTZDtype) and dtype.unit in ("s", "ms", "us") and str(dtype.tz) in _UTC_NAMES:
        return _DatetimeConverter(None, aware=True)
    if str(dtype) in _MASKED_INTEGER_DTYPES:
        return _MaskedConverter(boolean=False)
    if str(dtype) == "boolean":
        return _MaskedConverter(boolean=True)
    if isinstance(dtype, pd.StringDtype):
        return _TextConverter()
    return None


def _numpy_frame_converter(target: np.dtype) -> _Converter | None:
    """How a column converts when all columns share a numpy type: cast to it, then numpy's tolist."""
    if target.kind == "i" or (target.kind == "u" and target.itemsize < 8):
        return _IntConverter(target)
    if target.kind == "f":
        return _FloatConverter(target)
    if target.kind == "b":
        return _BoolConverter()
    if target.kind == "M" and _datetime_unit(target) in ("s", "ms", "us"):
        return _DatetimeConverter(target)
    return None


def _conversion_plan(frame: pd.DataFrame) -> list[_Converter] | None:
    """One converter per column, following pandas' rule: the frame's values take the common dtype of its
    columns, and an extension or mixed common type means object, where each column converts on its own."""
    dtypes = list(frame.dtypes)
    if find_common_type is None or not dtypes:
        return None
    try:
        common = find_common_type(dtypes)
    except Exception:
        return None
    if isinstance(common, np.dtype) and common.kind != "O":
        if not all(isinstance(dtype, np.dtype) for dtype in dtypes):
            return None
        converters = [_numpy_frame_converter(common) for _ in dtypes]
    else:
        converters = [_object_frame_converter(dtype) for dtype in dtypes]
    return None if any(converter is None for converter in converters) else converters


def _probe_rows(frame: pd.DataFrame) -> np.ndarray:
    """First and last row, and per column its first missing and first present row."""
    rows = {0, len(frame) - 1}
    for position in range(frame.shape[1]):
        missing = frame.iloc[:, position].isna().to_numpy()
        for wanted in (True, False):
            hits = np.flatnonzero(missing == wanted)
            if hits.size:
                rows.add(int(hits[0]))
    return np.array(sorted(rows), dtype=np.intp)


def _same_python_value(official: Any, mine: Any) -> bool:
    if official is mine:
        return True
    if type(official) is not type(mine):
        return False
    try:
        if str(official) != str(mine):
            return False
        return bool(official == mine) or (pd.isna(official) is True and pd.isna(mine) is True)
    except Exception:
        return False


def _plan_agrees_with_pandas(frame: pd.DataFrame, plan: list[_Converter]) -> bool:
    """The conversion rules give exactly what pandas gives, on a probe of rows covering every kind of value."""
    rows = _probe_rows(frame)
    official = _pandas_value_lists(frame.take(rows))
    for position, (converter, values) in enumerate(zip(plan, official)):
        mine = converter.python_values(frame.iloc[:, position], rows)
        if len(mine) != len(values) or not all(map(_same_python_value, values, mine)):
            return False
    return True


def _frame_columns(frame: pd.DataFrame, ids: _Ids) -> list[_Column]:
    """Every column of the frame as the official comparison sees it (raises what pandas' conversion raises)."""
    if frame.size > LITERAL_CELL_LIMIT:
        plan = _conversion_plan(frame)
        if plan is not None and _plan_agrees_with_pandas(frame, plan):
            try:
                return [converter.column(frame.iloc[:, position], ids) for position, converter in enumerate(plan)]
            except _NeedsLiteral:
                pass
    return [_generic_column(values, ids) for values in _pandas_value_lists(frame)]


# --------------------------------------------------------------------------------------------- comparison


def _isclose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """math.isclose(a, b, rel_tol=1e-9, abs_tol=0.01) per element, with CPython's exact formula."""
    with np.errstate(invalid="ignore", over="ignore"):
        difference = np.abs(b - a)
        close = (
            (difference <= np.abs(REL_TOLERANCE * b))
            | (difference <= np.abs(REL_TOLERANCE * a))
            | (difference <= ABS_TOLERANCE)
        )
        return (a == b) | (close & ~np.isinf(a) & ~np.isinf(b))


def _numbers_could_pair(gold: _Column, result: _Column) -> bool:
    """A necessary condition: values that pair up within a tolerance also do when both sides are sorted."""
    bound = max(ABS_TOLERANCE, REL_TOLERANCE * max(gold.finite_bound, result.finite_bound)) * (1 + 1e-9)

    def near(a: np.ndarray | float, b: np.ndarray | float) -> bool:
        with np.errstate(invalid="ignore", over="ignore"):
            return bool(np.all((a == b) | (np.abs(np.subtract(a, b)) <= bound)))

    (gold_low, gold_high), (result_low, result_high) = gold.number_ends, result.number_ends
    if not (near(gold_low, result_low) and near(gold_high, result_high)):
        return False
    return near(gold.sorted_numbers, result.sorted_numbers)


def _could_match(gold: _Column, result: _Column) -> bool:
    """Cheap necessary conditions, without the official sort: counts per kind, numbers, other values."""
    if not np.array_equal(gold.kind_counts, result.kind_counts):
        return False
    if gold.kind_counts[NUMBER] and not _numbers_could_pair(gold, result):
        return False
    if gold.kind_counts[TEXT:].any():
        if gold.other_fingerprint != result.other_fingerprint:
            return False
        return bool(np.array_equal(gold.sorted_other_keys, result.sorted_other_keys))
    return True


def _identical_values(gold: _Column, result: _Column) -> bool:
    """Both columns hold the same multiset of values of the same Python types: their official sorts then yield
    the same sequence, so they match. Call only after _could_match."""
    if gold.uniform_tags is None or gold.uniform_tags != result.uniform_tags:
        return False
    if not (gold.exact_numbers and result.exact_numbers):
        return False
    return bool(np.array_equal(gold.sorted_numbers.view(np.int64), result.sorted_numbers.view(np.int64)))


def _aligned_agreement(gold: tuple, result: tuple) -> np.ndarray:
    """Per position of two equally long aligned columns: do the values agree by the official rule."""
    gold_kinds, gold_numbers, gold_idents = gold
    result_kinds, result_numbers, result_idents = result
    agree = gold_kinds == result_kinds
    numbers = agree & (gold_kinds == NUMBER)
    agree[numbers] = _isclose(gold_numbers[numbers], result_numbers[numbers])
    others = agree & (gold_kinds >= TEXT)
    agree[others] = gold_idents[others] == result_idents[others]
    return agree


def _literal_agreement(gold_values: list, result_values: list) -> list[bool]:
    """The official per-value rule, value by value (exceptions mean disagreement)."""
    return [_values_agree(a, b) for a, b in zip(gold_values, result_values)]


def _values_agree(a: Any, b: Any) -> bool:
    try:
        if pd.isna(a) and pd.isna(b):
            return True
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return math.isclose(float(a), float(b), abs_tol=ABS_TOLERANCE)
        return not (a != b)
    except Exception:
        return False


def _literal_values_match(gold_values: list | None, result_values: list | None) -> bool:
    """All positions agree; None stands for a sort that raised."""
    if gold_values is None or result_values is None or len(gold_values) != len(result_values):
        return False
    return all(_values_agree(a, b) for a, b in zip(gold_values, result_values))


def _columns_match(gold: _Column, result: _Column, ignore_order: bool | None) -> bool:
    """The official vectors_match, on column signatures."""
    if ignore_order is None:
        return False
    if gold.exotic or result.exotic:
        if ignore_order:
            return _literal_values_match(gold.literally_sorted, result.literally_sorted)
        return _literal_values_match(gold.all_python_values, result.all_python_values)
    if gold.length != result.length or not _could_match(gold, result):
        return False
    if ignore_order and _identical_values(gold, result):
        return True
    return bool(_aligned_agreement(gold.view(ignore_order), result.view(ignore_order)).all())


def _agreement(gold: _Column, result: _Column, ignore_order: bool | None) -> np.ndarray:
    """Per aligned position (over the shorter length): do the values agree; for the report."""
    size = min(gold.length, result.length)
    if ignore_order is None:
        return np.zeros(size, dtype=bool)
    if gold.exotic or result.exotic:
        gold_values = gold.literally_sorted if ignore_order else gold.all_python_values
        result_values = result.literally_sorted if ignore_order else result.all_python_values
        if gold_values is None or result_values is None:
            return np.zeros(size, dtype=bool)
        return np.array(_literal_agreement(gold_values[:size], result_values[:size]), dtype=bool)
    gold_view, result_view = gold.view(ignore_order), result.view(ignore_order)
    return _aligned_agreement(tuple(a[:size] for a in gold_view), tuple(a[:size] for a in result_view))


# ---------------------------------------------------------------------------------------------- strict rows


def _strict_views(columns: list[_Column], reprs: dict[str, int]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Kinds, numbers and identities per column, exotic values identified by their repr."""
    views = []
    for column in columns:
        idents = column.idents
        if column.exotic:
            exotic_idents = [reprs.setdefault(_safe_repr(value), len(reprs)) for value in column.all_python_values]
            idents = np.where(column.kinds == EXOTIC, np.array(exotic_idents, dtype=np.int64), idents)
        views.append((column.kinds, column.numbers, idents))
    return views


def _value_keys(kinds: np.ndarray, numbers: np.ndarray, idents: np.ndarray) -> np.ndarray:
    """Per value the number's bits (-0.0 as 0.0) or the identity: with the kind, equal exactly for equal values."""
    bits = np.where(numbers == 0.0, 0.0, numbers).view(np.int64)
    return np.where(kinds == NUMBER, bits, idents)


def _row_keys(views: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Two integers per value (kind, then value key), one row per table row."""
    keys = []
    for kinds, numbers, idents in views:
        keys += [kinds.astype(np.int64), _value_keys(kinds, numbers, idents)]
    return np.column_stack(keys)


def _value_key_columns(views: list[tuple]) -> Iterator[np.ndarray]:
    for kinds, numbers, idents in views:
        yield kinds
        yield _value_keys(kinds, numbers, idents)


def _row_hashes(views: list[tuple]) -> np.ndarray:
    hashes = np.full(len(views[0][0]), 0x9E3779B97F4A7C15, dtype=np.uint64)
    for key in _value_key_columns(views):
        hashes ^= key.astype(np.uint64)
        hashes *= np.uint64(0xBF58476D1CE4E5B9)
        hashes ^= hashes >> np.uint64(31)
    return hashes


def _same_rows_exactly(gold_views: list[tuple], result_views: list[tuple]) -> bool:
    """True proves equal multisets of rows: ordered by a row hash, both sides hold the same row at every
    position. False may also mean a hash collision; the caller then checks exactly."""
    gold_order = np.argsort(_row_hashes(gold_views), kind="stable")
    result_order = np.argsort(_row_hashes(result_views), kind="stable")
    return all(
        np.array_equal(gold[gold_order], result[result_order])
        for gold, result in zip(_value_key_columns(gold_views), _value_key_columns(result_views))
    )


def _rows_match(gold_columns: list[_Column], result_columns: list[_Column]) -> bool:
    """The multiset of rows over the graded gold columns equals that over their paired result columns, with
    numbers within the official tolerance and missing equal to missing.

    Rows equal value for value are paired first. The rest are paired by a maximum bipartite matching when
    there are at most STRICT_MATCHING_LIMIT of them; beyond that, both sides are ordered by all kinds, then
    identities, then numbers and compared row by row (which can miss a pairing when rows differ only by
    numbers within 0.01 of those of other rows).
    """
    if not gold_columns or gold_columns[0].length == 0:
        return True
    reprs: dict[str, int] = {}
    gold_views, result_views = _strict_views(gold_columns, reprs), _strict_views(result_columns, reprs)
    if _same_rows_exactly(gold_views, result_views):
        return True
    gold_rest, result_rest = _rows_without_exact_partner(_row_keys(gold_views), _row_keys(result_views))
    if not gold_rest.size:
        return True
    gold_views = [tuple(part[gold_rest] for part in view) for view in gold_views]
    result_views = [tuple(part[result_rest] for part in view) for view in result_views]
    if gold_rest.size <= STRICT_MATCHING_LIMIT:
        return _perfect_pairing_exists(gold_views, result_views)
    return all(
        _aligned_agreement(gold, result).all()
        for gold, result in zip(_lexicographic_rows(gold_views), _lexicographic_rows(result_views))
    )


def _rows_without_exact_partner(gold_keys: np.ndarray, result_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row positions left on each side once rows with identical keys are paired off."""
    _, groups = np.unique(np.vstack([gold_keys, result_keys]), axis=0, return_inverse=True)
    groups = groups.reshape(-1)
    gold_groups, result_groups = groups[: len(gold_keys)], groups[len(gold_keys):]
    size = int(groups.max()) + 1
    gold_counts = np.bincount(gold_groups, minlength=size)
    result_counts = np.bincount(result_groups, minlength=size)
    return _surplus(gold_groups, result_counts), _surplus(result_groups, gold_counts)


def _surplus(groups: np.ndarray, partner_counts: np.ndarray) -> np.ndarray:
    """Positions whose rank within their group reaches the number of partners the other side has."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    run_lengths = np.diff(np.r_[starts, len(sorted_groups)])
    ranks = np.arange(len(sorted_groups)) - np.repeat(starts, run_lengths)
    return np.sort(order[ranks >= partner_counts[sorted_groups]])


def _perfect_pairing_exists(gold_views: list[tuple], result_views: list[tuple]) -> bool:
    """Every gold row can be given its own agreeing result row (Kuhn's augmenting paths)."""
    size = len(gold_views[0][0])
    agree = np.ones((size, size), dtype=bool)
    for (gold_kinds, gold_numbers, gold_idents), (kinds, numbers, idents) in zip(gold_views, result_views):
        same_kind = gold_kinds[:, None] == kinds[None, :]
        close = _isclose(gold_numbers[:, None], numbers[None, :])
        same_ident = gold_idents[:, None] == idents[None, :]
        by_kind = np.where(gold_kinds[:, None] == NUMBER, close, (gold_kinds[:, None] < TEXT) | same_ident)
        agree &= same_kind & by_kind
    candidates = [np.flatnonzero(row).tolist() for row in agree]
    partner_of_result: dict[int, int] = {}

    def assign(gold_row: int, seen: set[int]) -> bool:
        for result_row in candidates[gold_row]:
            if result_row in seen:
                continue
            seen.add(result_row)
            if result_row not in partner_of_result or assign(partner_of_result[result_row], seen):
                partner_of_result[result_row] = gold_row
                return True
        return False

    return all(assign(gold_row, set()) for gold_row in range(size))


def _lexicographic_rows(views: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[tuple]:
    priority = [kinds for kinds, _, _ in views] + [idents for _, _, idents in views]
    priority += [numbers for _, numbers, _ in views]
    order = np.lexsort(priority[::-1])
    return [(kinds[order], numbers[order], idents[order]) for kinds, numbers, idents in views]


# ------------------------------------------------------------------------------------------------ grading


def _grade_table(
    name: Any, selection: _GoldSelection, result: pd.DataFrame | TableReport, ignore_order_value: Any
) -> TableReport:
    """Compare one table as the official compare_pandas_table does, and explain its failing columns."""
    if isinstance(result, TableReport):
        return result
    ignore_order = _truth(ignore_order_value)
    if selection.literal is not None:
        return _grade_literally(name, selection, result, ignore_order)
    report = TableReport(str(name), "passed", ignore_order, len(selection.frame), len(result))
    ids = _Ids()
    try:
        gold_by_position = _gold_columns(selection, ids)
    except Exception as error:
        report.status = "gold_unreadable"
        report.message = f"gold table {name!r} cannot be converted to Python values: {_one_line(error)}"
        return report
    try:
        result_columns = _frame_columns(result, ids)
    except Exception as error:
        report.status = "value_mismatch"
        report.message = f"result table {name!r} cannot be converted to Python values: {_one_line(error)}"
        return report
    pairs = {
        position: next(
            (j for j, column in enumerate(result_columns) if _columns_match(gold, column, ignore_order)), None
        )
        for position, gold in gold_by_position.items()
    }
    gold_names = [str(column) for column in selection.frame.columns]
    result_names = [str(column) for column in result.columns]
    for given, position in zip(selection.given, selection.positions):
        match = pairs[position]
        column_report = ColumnReport(given, gold_names[position], match is not None)
        if match is not None:
            column_report.result_index, column_report.result_column = match, result_names[match]
        else:
            _explain_column(column_report, gold_by_position[position], result_columns, result_names, ignore_order)
        report.columns.append(column_report)
    _settle_table(report, ignore_order)
    if report.passed:
        partners = _strict_partners(report.columns, gold_by_position, selection.positions, result_columns,
                                    result_names, ignore_order)
        report.strict_passed = not ignore_order or _rows_match(
            [gold_by_position[position] for position in selection.positions],
            [result_columns[partner] for partner in partners],
        )
    return report


def _strict_partners(
    columns: list[ColumnReport],
    gold_by_position: dict[int, _Column],
    positions: list[int],
    result_columns: list[_Column],
    result_names: list[str],
    ignore_order: bool | None,
) -> list[int]:
    """The result column each graded gold column is paired with in strict mode: the official first match,
    unless a result column of the same name matches too (identical columns, such as two boolean flags with
    as many trues, would otherwise be paired crosswise)."""
    partners = []
    for column, position in zip(columns, positions):
        partner = column.result_index
        same_name = [j for j, name in enumerate(result_names) if name.lower() == column.name.lower()]
        if same_name and same_name[0] != partner:
            if _columns_match(gold_by_position[position], result_columns[same_name[0]], ignore_order):
                partner = same_name[0]
        column.strict_partner = result_names[partner]
        partners.append(partner)
    return partners


def _gold_columns(selection: _GoldSelection, ids: _Ids) -> dict[int, _Column]:
    """The kept gold columns by position; pandas converts the kept frame as a whole, duplicates included, and
    a duplicate changes nothing in that conversion, so each position is converted once."""
    positions = sorted(set(selection.positions))
    frame = selection.frame
    kept = frame if positions == list(range(frame.shape[1])) else frame.iloc[:, positions]
    return dict(zip(positions, _frame_columns(kept, ids)))


def _settle_table(report: TableReport, ignore_order: bool | None) -> None:
    """Status and one-line message of a compared table."""
    failing = report.failing_columns
    if not failing:
        report.status = "passed"
        report.message = f"table {report.name!r}: all {len(report.columns)} graded column(s) match"
        return
    report.strict_passed = False
    if report.gold_rows != report.result_rows:
        report.status = "row_count_mismatch"
        report.message = (f"table {report.name!r}: gold has {report.gold_rows:,} rows, the result "
                          f"{report.result_rows:,}")
        return
    report.status = "value_mismatch"
    first = failing[0]
    report.message = (f"table {report.name!r}: {len(failing)} of {len(report.columns)} graded column(s) have no "
                      f"matching result column (first: {first.index} {first.name!r})")
    if ignore_order is None:
        report.message += "; its ignore_orders entry has no truth value"


def _explain_column(
    column_report: ColumnReport,
    gold: _Column,
    result_columns: list[_Column],
    result_names: list[str],
    ignore_order: bool | None,
) -> None:
    """The result column the failure is most likely about, and a few values side by side."""
    candidate, reason = _candidate(column_report.name, gold, result_columns, result_names, ignore_order)
    if candidate is None:
        return
    result = result_columns[candidate]
    column_report.candidate, column_report.candidate_index = result_names[candidate], candidate
    column_report.candidate_reason = reason
    agree = _agreement(gold, result, ignore_order)
    column_report.agreeing, column_report.compared = int(agree.sum()), max(gold.length, result.length)
    for position in np.flatnonzero(~agree)[:SAMPLE_SIZE].tolist():
        column_report.samples.append(
            (position, _display_at(gold, position, ignore_order), _display_at(result, position, ignore_order))
        )


def _candidate(
    name: str, gold: _Column, result_columns: list[_Column], result_names: list[str], ignore_order: bool | None
) -> tuple[int | None, str | None]:
    for position, result_name in enumerate(result_names):
        if result_name.lower() == name.lower():
            return position, "same name"
    best, best_score = None, -1
    for position, result in enumerate(result_columns):
        if result.length == gold.length and set(result.tags) & set(gold.tags):
            score = int(_agreement(gold, result, ignore_order).sum())
            if score > best_score:
                best, best_score = position, score
    return (best, "closest") if best is not None else (None, None)


def _display_at(column: _Column, position: int, ignore_order: bool | None) -> str:
    if ignore_order and column.official_order is None:
        return "?"
    row = column.position_to_row(position, bool(ignore_order))
    return _display(column.python_values(np.array([row]))[0])


def _display(value: Any, width: int = 40) -> str:
    text = repr(value) if isinstance(value, str) else _safe_str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _grade_literally(
    name: Any, selection: _GoldSelection, result: pd.DataFrame, ignore_order: bool | None
) -> TableReport:
    """A table whose condition_cols entry is not a plain list of ints: pandas' selection, the literal rule."""
    report = TableReport(str(name), "passed", ignore_order, len(selection.frame), len(result))
    try:
        gold_vectors = selection.literal.transpose().values.tolist()
        result_vectors = _pandas_value_lists(result)
    except Exception as error:
        report.status = "value_mismatch"
        report.message = f"table {name!r} cannot be converted to Python values: {_one_line(error)}"
        return report
    result_names = [str(column) for column in result.columns]
    for index, gold_values in enumerate(gold_vectors):
        match = next(
            (j for j, values in enumerate(result_vectors) if _literal_vector_match(gold_values, values, ignore_order)),
            None,
        )
        column_report = ColumnReport(index, f"#{index}", match is not None)
        if match is not None:
            column_report.result_index, column_report.result_column = match, result_names[match]
        report.columns.append(column_report)
    _settle_table(report, ignore_order)
    if report.passed:
        report.strict_passed = not ignore_order
    return report


def _literal_vector_match(gold_values: Any, result_values: Any, ignore_order: bool | None) -> bool:
    """The official rule for whatever pandas handed over (even non-lists)."""
    if ignore_order is None:
        return False
    try:
        if ignore_order:
            gold_values = sorted(gold_values, key=_official_sort_key)
            result_values = sorted(result_values, key=_official_sort_key)
        if len(gold_values) != len(result_values):
            return False
        return all(_values_agree(a, b) for a, b in zip(gold_values, result_values))
    except Exception:
        return False


# ----------------------------------------------------------------------------------------------- rendering


class _Palette:
    """ANSI colours, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled and text else text

    def good(self, text: str) -> str:
        return self.paint(text, "32")

    def bad(self, text: str) -> str:
        return self.paint(text, "31;1")

    def note(self, text: str) -> str:
        return self.paint(text, "33")

    def dim(self, text: str) -> str:
        return self.paint(text, "2")


def _render(report: MatchReport, palette: _Palette) -> str:
    verdict = palette.good("PASSED") if report.score else palette.bad("FAILED")
    who = f"{report.instance_id}: " if report.instance_id else ""
    lines = [f"{who}{verdict} ({report.category}): {report.message}"]
    if report.score and not report.strict_score:
        lines[0] += palette.note(" [strict: FAILED]")
    for table in report.tables:
        lines += _render_table(table, palette, report.message)
    hint = _hint(report)
    if hint:
        lines.append(palette.note(f"hint: {hint}"))
    return "\n".join(lines)


def _hint(report: MatchReport) -> str:
    if report.category == "passed":
        if not report.strict_score:
            return ("the official verdict compares columns one by one, each sorted on its own; the rows of the "
                    "result do not pair up with the gold rows")
        return ""
    if any(table.status == "unreadable" for table in report.tables):
        return ("the table exists but DuckDB cannot read it; a view that names its database (e.g. "
                "project.main.source) breaks once the file is opened under another name: materialize it as a table")
    return HINTS[report.category]


def _render_table(table: TableReport, palette: _Palette, headline: str) -> list[str]:
    """The table's lines; its message is left out when the headline already says it."""
    status = palette.good("passed") if table.passed else palette.bad(table.status)
    if table.status in ("missing", "unreadable", "gold_unreadable"):
        return [f"  table {table.name}: {status}"] + ([f"    {table.message}"] if table.message != headline else [])
    order = {True: "ignore order", False: "in order", None: "order flag unusable"}[table.ignore_order]
    lines = [f"  table {table.name} ({order}, rows gold {table.gold_rows:,} / result {table.result_rows:,}): {status}"]
    if table.passed:
        strict = "rows match too" if table.strict_passed else palette.note("rows differ (strict mode fails)")
        lines[0] += palette.dim(f" - {len(table.columns)} column(s) matched; ") + strict
        return lines
    failing = table.failing_columns
    if (not failing or table.status == "row_count_mismatch") and table.message != headline:
        lines.append(f"    {table.message}")
    if table.ignore_order and any(column.samples for column in failing):
        lines.append(palette.dim("    (values side by side after the official sort: each column on its own, by "
                                 "str(value))"))
    for column in failing[:MAX_FAILING_COLUMNS_SHOWN]:
        lines += _render_column(column, palette)
    if len(failing) > MAX_FAILING_COLUMNS_SHOWN:
        lines.append(f"    ... and {len(failing) - MAX_FAILING_COLUMNS_SHOWN} more failing column(s)")
    matched = len(table.columns) - len(failing)
    if matched:
        lines.append(palette.dim(f"    ({matched} other graded column(s) matched)"))
    return lines


def _render_column(column: ColumnReport, palette: _Palette) -> list[str]:
    lines = [f"    gold column {column.index} {column.name!r}: {palette.bad('no result column matches')}"]
    if column.candidate is None:
        lines.append("      no result column of the same length to compare with")
        return lines
    why = "same name" if column.candidate_reason == "same name" else "closest by values"
    lines.append(
        f"      result column {column.candidate!r} ({why}): {column.agreeing:,} of {column.compared:,} "
        "positions agree"
    )
    if column.samples:
        lines.append(palette.dim(f"        {'position':>10}  {'gold':<40}  result"))
        for position, gold_text, result_text in column.samples:
            lines.append(f"        {position:>10}  {gold_text:<40}  {result_text}")
    return lines


# ------------------------------------------------------------------------------------------------- helpers


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:300]


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}>"


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return _safe_repr(value)
