"""Reading the two databases and checking the evaluator entry, within the judge's limits.

Each graded table is read as the official code reads it, ``SELECT * FROM <name>`` with the name unquoted (so
DuckDB resolves it case-insensitively in the default schema) and ``fetchdf()``, on a fresh read-only connection
of its own, so that nothing one name does (a ``condition_tabs`` entry that is SQL, ``USE``, ``SET``, a temporary
table or macro) changes what the next one sees.

Deliberate differences from the official evaluator, each ending in its own category, never in a hang or an
exception:

* The result is opened with DuckDB's ``enable_external_access`` off, so a view or macro that reads another file
  (``read_duckdb``, ``read_parquet``, ``read_csv``, ...) fails, and the table is refused (``result_refused``): a
  result that only points at the gold would otherwise pass, as it does in the official evaluator. The keyword
  ``allow_external_access=True`` of ``duckdb_match`` restores the official behaviour.
* Every read runs under a deadline (``JudgeLimits.timeout_seconds``, enforced with DuckDB's
  ``connection.interrupt()`` from a timer; ``judge_timeout``) and DuckDB's ``memory_limit``
  (``JudgeLimits.memory_mb``; ``judge_out_of_memory``).
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from pytest_spider2dbt.categories import Category

from . import official
from .report import MAX_TABLES_LISTED, TableReport, TableStatus


@dataclass(frozen=True)
class JudgeLimits:
    """How long one verdict may take and how much memory DuckDB may use while reading for it."""

    timeout_seconds: float = 300.0
    memory_mb: int = 4096


class Stop(Exception):
    """A verdict reached before the tables are compared: a bad entry, an unreadable file, a limit."""

    def __init__(self, category: Category, message: str) -> None:
        super().__init__(message)
        self.category = category
        self.message = message


class Deadline:
    """The moment the judge's time limit runs out."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def check(self, doing: str) -> None:
        if self.remaining() <= 0:
            raise self.stop(doing)

    def stop(self, doing: str) -> Stop:
        return Stop(Category.JUDGE_TIMEOUT, f"{doing} ran past the judge's time limit of {self.seconds:g} s")


class OpenFailed(Exception):
    """The database file cannot be opened at all."""


@dataclass(frozen=True)
class Database:
    """One side of the comparison: a DuckDB file and how the judge may read it."""

    path: Any
    role: str
    external_access: bool
    limits: JudgeLimits
    deadline: Deadline = field(compare=False)

    def table_names(self) -> list[Any]:
        """SHOW TABLES, as the official code lists the gold tables when condition_tabs is None."""
        return [row[0] for row in self._run(lambda c: c.execute("SHOW TABLES").fetchall(), "listing the tables")]

    def fetch(self, name: Any) -> pd.DataFrame:
        """One table on a fresh connection; raises Stop at a limit, OpenFailed, or what DuckDB raises."""

        def read(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return connection.execute(f"SELECT * FROM {name}").fetchdf()

        return self._run(read, f"reading table {name!r} of the {self.role} database")

    def listing(self, name: Any) -> tuple[list[str], bool, list[str]]:
        """All tables and views; whether one called `name` is in the default schema; those in other schemas."""
        try:
            return self._run(lambda connection: _tables_in(connection, str(name)), "listing the tables")
        except Exception:
            return [], False, []

    def _run(self, work: Any, doing: str) -> Any:
        self.deadline.check(doing)
        connection = self._connect()
        timer = threading.Timer(max(self.deadline.remaining(), 0.0), _interrupt, (connection,))
        timer.daemon = True
        timer.start()
        try:
            return work(connection)
        except duckdb.InterruptException as error:
            if self.deadline.remaining() <= 0:
                raise self.deadline.stop(doing) from error
            raise
        except (duckdb.OutOfMemoryException, MemoryError) as error:
            limit = f"{self.limits.memory_mb:,} MB"
            raise Stop(Category.JUDGE_OUT_OF_MEMORY, f"{doing} needed more than the judge's {limit}") from error
        finally:
            timer.cancel()
            connection.close()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self.path is None:
            raise OpenFailed(f"no {self.role} database given")
        config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": f"{self.limits.memory_mb}MB"}
        if not self.external_access:
            config["enable_external_access"] = False
        database = os.fspath(self.path) if isinstance(self.path, os.PathLike) else self.path
        try:
            return duckdb.connect(database=database, read_only=True, config=config)
        except Exception as error:
            raise OpenFailed(_open_failure(self.role, self.path, error)) from error


def _interrupt(connection: duckdb.DuckDBPyConnection) -> None:
    try:
        connection.interrupt()
    except Exception:
        pass  # the connection closed as the time ran out: nothing left to stop


def _open_failure(role: str, path: Any, error: Exception) -> str:
    if not isinstance(path, (str, os.PathLike)):
        return f"the {role} database path is not a path: {path_text(path)}"
    text = os.fspath(path)
    if not os.path.exists(text):
        return f"{role} database not found: {text}"
    if os.path.isdir(text):
        return f"{role} database path is a directory: {text}"
    if "not a valid DuckDB database" in str(error):
        return f"{role} file is corrupt or not a DuckDB database: {text}"
    return f"{role} database cannot be opened: {text} ({one_line(error)})"


def _tables_in(connection: duckdb.DuckDBPyConnection, name: str) -> tuple[list[str], bool, list[str]]:
    default_schema = connection.execute("SELECT current_schema()").fetchall()[0][0]
    rows = connection.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal "
        "UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1, 2"
    ).fetchall()
    wanted = name.split(".")[-1].strip('"').lower()
    qualified = [_shown(table) if schema == default_schema else _qualified(schema, table) for schema, table in rows]
    named = [(schema, table) for schema, table in rows if table.lower() == wanted]
    here = any(schema == default_schema for schema, _ in named)
    return qualified, here, [_qualified(schema, table) for schema, table in named if schema != default_schema]


def _qualified(schema: str, table: str) -> str:
    return f"{_shown(schema)}.{_shown(table)}"


def _shown(name: str) -> str:
    """A name as it can stand in a one-line message: itself, or its repr when it holds odd characters."""
    return name if name.isprintable() else repr(name)


def unreadable_table(database: Database, name: Any, error: Exception) -> TableReport:
    """Why a graded table cannot be read from the result: refused, missing, or unreadable."""
    existing, here, elsewhere = database.listing(name)
    report = TableReport(str(name), TableStatus.UNREADABLE, result_tables=existing, found_elsewhere=elsewhere)
    if isinstance(error, duckdb.PermissionException) and not database.external_access:
        report.status = TableStatus.REFUSED
        report.message = (f"table {name!r} of the result reads another file, which the judge refuses "
                          f"({one_line(error)})")
    elif isinstance(error, duckdb.CatalogException) and not here:
        report.status = TableStatus.MISSING
        report.message = f"table {name!r} is missing from the result"
        if elsewhere:
            report.message += f"; it exists as {', '.join(elsewhere)} (another schema)"
        else:
            report.message += f" (it has: {listing_text(existing)})"
    else:
        report.message = f"table {name!r} cannot be read from the result: {one_line(error)}"
    return report


def listing_text(names: list[str]) -> str:
    if not names:
        return "no tables"
    shown = ", ".join(names[:MAX_TABLES_LISTED])
    more = len(names) - MAX_TABLES_LISTED
    return shown + (f", ... and {more} more" if more > 0 else "")


# ------------------------------------------------------------------------------------------ the evaluator entry


def graded_table_names(condition_tabs: Any, who: str) -> list[Any] | None:
    """The condition_tabs entry as a list (None: every gold table), or a config error."""
    if condition_tabs is None:
        return None
    try:
        names = list(condition_tabs)
    except Exception as error:
        raise Stop(Category.CONFIG_ERROR, f"{who}: condition_tabs is not a list of table names") from error
    if names and iter(condition_tabs) is condition_tabs:
        raise Stop(Category.CONFIG_ERROR, f"{who}: condition_tabs is an iterator, which the official code reads "
                   "twice (the second time empty)")
    return names


def table_settings(count: int, condition_cols: Any, ignore_orders: Any, who: str) -> list[tuple[Any, Any]]:
    """(condition_cols entry, ignore_orders entry) per table, with the official defaults, or a config error."""
    try:
        cols, orders = official.table_settings(count, condition_cols, ignore_orders)
        return [(cols[i], orders[i]) for i in range(count)]
    except Exception as error:
        problem = _settings_problem(count, condition_cols, ignore_orders, who, error)
        raise Stop(Category.CONFIG_ERROR, problem) from error


def _settings_problem(count: int, condition_cols: Any, ignore_orders: Any, who: str, error: Exception) -> str:
    for label, values in (("ignore_orders", ignore_orders), ("condition_cols", condition_cols)):
        if values is None:
            continue
        try:
            size = len(values)
        except Exception:
            return f"{who}: {label} has no length ({values!r})"
        if size != count:
            entries = "entry" if size == 1 else "entries"
            return f"{who}: condition_tabs has {count} table(s) but {label} has {size} {entries}"
    return f"{who}: cannot index the config lists ({one_line(error)})"


@dataclass
class Selection:
    """The graded columns of one gold table: positions as given and resolved, or an entry only pandas can read."""

    frame: pd.DataFrame
    entry: Any
    given: list[int]
    positions: list[int]
    literal: bool = False


def gold_selection(name: Any, gold: pd.DataFrame, entry: Any, who: str) -> Selection:
    """The kept gold columns (``[]`` = all), or a config error naming the instance, table and index."""
    width = gold.shape[1]
    if type(entry) is list and all(type(index) is int for index in entry):
        if not entry:
            return Selection(gold, entry, list(range(width)), list(range(width)))
        for index in entry:
            if not -width <= index < width:
                raise Stop(Category.CONFIG_ERROR, f"{who}: condition_cols index {index} is past the end of gold "
                           f"table {name!r} ({width} columns)")
        return Selection(gold, entry, list(entry), [index % width for index in entry])
    try:
        official.kept_gold_columns(gold, entry)
    except Exception as error:
        raise Stop(Category.CONFIG_ERROR, f"{who}: condition_cols entry {entry!r} cannot select columns of gold "
                   f"table {name!r}: {one_line(error)}") from error
    return Selection(gold, entry, [], [], literal=True)


def path_text(path: Any) -> str | None:
    if path is None:
        return None
    return os.fspath(path) if isinstance(path, (str, os.PathLike)) else repr(path)


def one_line(error: BaseException) -> str:
    """An error as one line of at most 300 characters."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:300]
