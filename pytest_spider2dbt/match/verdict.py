"""``duckdb_match``: the official verdict on two DuckDB files, the strict one, and why; never an exception.

The steps follow the official ``duckdb_match``: the graded tables (``condition_tabs``, or every gold table), the
gold tables read, the per-table settings with their defaults, the result tables read, then each table compared
(:mod:`grade`). Where the official code raises (a gold table that cannot be read, a config list of the wrong
length, an index past the end), it scores 0, and so does this function, with a category and a message that say
which entry or file is at fault.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pytest_spider2dbt.categories import Category

from .grade import grade_table
from .read import (
    Database,
    Deadline,
    JudgeLimits,
    OpenFailed,
    Stop,
    gold_selection,
    graded_table_names,
    one_line,
    path_text,
    table_settings,
    unreadable_table,
)
from .report import MatchReport, TableReport, TableStatus

# Which failing table decides the category: the gold first, then refused, missing or unreadable result tables;
# otherwise the first failing table, as the official loop stops at it.
_DECIDING_STATUSES = {
    TableStatus.GOLD_UNREADABLE: Category.GOLD_MISSING,
    TableStatus.REFUSED: Category.RESULT_REFUSED,
    TableStatus.MISSING: Category.TABLE_MISSING,
    TableStatus.UNREADABLE: Category.TABLE_MISSING,
}
_COMPARED_STATUSES = {
    TableStatus.ROW_COUNT_MISMATCH: Category.ROW_COUNT_MISMATCH,
    TableStatus.VALUE_MISMATCH: Category.VALUE_MISMATCH,
}


def duckdb_match(
    result: Any,
    gold: Any,
    condition_tabs: Any = None,
    condition_cols: Any = None,
    ignore_orders: Any = None,
    *,
    instance_id: str | None = None,
    allow_external_access: bool = False,
    limits: JudgeLimits | None = None,
) -> MatchReport:
    """The official ``duckdb_match`` score of `result` against `gold`, with the reason.

    `allow_external_access` reads the result as the official code does, letting its views and macros read other
    files (by default such a table is refused: ``result_refused``). `limits` bounds the time and DuckDB memory
    of the whole verdict (None: ``JudgeLimits()``, 300 s and 4096 MB).
    """
    limits = limits or JudgeLimits()
    deadline = Deadline(limits.timeout_seconds)
    report = MatchReport(0, 0, Category.PASSED, "", [], instance_id, path_text(result), path_text(gold))
    who = f"instance {instance_id}" if instance_id else "this instance"
    try:
        names = graded_table_names(condition_tabs, who)
        gold_tables = _read_gold(Database(gold, "gold", True, limits, deadline), names)
        names = [name for name, _ in gold_tables]
        settings = table_settings(len(names), condition_cols, ignore_orders, who)
        selections = [
            gold_selection(name, frame, entry, who)
            for (name, frame), (entry, _) in zip(gold_tables, settings, strict=True)
        ]
        results = _read_result(Database(result, "result", allow_external_access, limits, deadline), names)
        for name, selection, table, (_, ignore_order) in zip(names, selections, results, settings, strict=True):
            report.tables.append(table if isinstance(table, TableReport) else
                                 grade_table(name, selection, table, ignore_order, deadline))
        return _concluded(report)
    except Stop as stop:
        return _failed(report, stop.category, stop.message)
    except MemoryError:
        return _failed(report, Category.JUDGE_OUT_OF_MEMORY, "the judge ran out of memory comparing the tables")
    except Exception as error:
        return _failed(report, Category.HARNESS_ERROR, f"the judge itself failed: {one_line(error)}")


def _read_gold(database: Database, names: list[Any] | None) -> list[tuple[Any, pd.DataFrame]]:
    """The graded gold tables (every table of SHOW TABLES when names is None); no file is opened for none."""
    if names == []:
        return []
    where = f"the gold database {path_text(database.path)}"
    try:
        if names is None:
            names = database.table_names()
        return [(name, _gold_table(database, name, where)) for name in names]
    except OpenFailed as error:
        raise Stop(Category.GOLD_MISSING, str(error)) from error


def _gold_table(database: Database, name: Any, where: str) -> pd.DataFrame:
    try:
        return database.fetch(name)
    except (Stop, OpenFailed):
        raise
    except Exception as error:
        raise Stop(Category.GOLD_MISSING, f"table {name!r} cannot be read from {where}: {one_line(error)}") from error


def _read_result(database: Database, names: list[Any]) -> list[pd.DataFrame | TableReport]:
    """Each graded table as a DataFrame, or a TableReport saying why it cannot be read."""
    tables: list[pd.DataFrame | TableReport] = []
    for name in names:
        try:
            tables.append(database.fetch(name))
        except OpenFailed as error:
            raise Stop(Category.NO_RESULT_DB, str(error)) from error
        except Stop:
            raise
        except Exception as error:
            tables.append(unreadable_table(database, name, error))
    return tables


def _concluded(report: MatchReport) -> MatchReport:
    for status, category in _DECIDING_STATUSES.items():
        deciding = next((table for table in report.tables if table.status == status), None)
        if deciding is not None:
            return _failed(report, category, deciding.message)
    first_failure = next((table for table in report.tables if not table.passed), None)
    if first_failure is not None:
        return _failed(report, _COMPARED_STATUSES[first_failure.status], first_failure.message)
    report.score, report.category = 1, Category.PASSED
    report.strict_score = int(all(table.strict_passed for table in report.tables))
    report.message = f"all {len(report.tables)} graded table(s) match"
    if not report.strict_score:
        loose = ", ".join(repr(table.name) for table in report.tables if not table.strict_passed)
        report.message += f"; strict: the rows of {loose} differ (same values, different pairing of rows)"
    return report


def _failed(report: MatchReport, category: Category, message: str) -> MatchReport:
    report.score, report.strict_score, report.category, report.message = 0, 0, category, message
    return report
