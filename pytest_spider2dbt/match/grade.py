"""One graded table: the official table verdict, the strict one, and why a gold column finds no partner.

The official ``compare_pandas_table`` passes a table when every kept gold column is matched by at least one result
column (:func:`compare.columns_match`); names are never compared, one result column may match several gold columns
and extra result columns are ignored. A gold column's partner here is the first matching result column, as in the
official loop. A failing gold column is explained with one result column: the one of the same name, else the
closest by values, compared position by position (value by value for at most
``report.MAX_POSITIONS_COMPARED_LITERALLY`` positions, so an explanation costs about what a verdict costs).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from . import compare, official, strict
from .columns import frame_columns
from .read import Deadline, Selection, Stop, one_line
from .report import (
    MAX_POSITIONS_COMPARED_LITERALLY,
    SAMPLE_SIZE,
    CandidateReason,
    ColumnReport,
    Sample,
    TableReport,
    TableStatus,
)
from .values import Column, Ids

# Positions compared value by value per candidate while looking for the closest result column.
CANDIDATE_SEARCH_POSITIONS = 20
DISPLAY_WIDTH = 40
DIFFERENT_PAIRING = ("same values, different pairing of rows: each graded column matches on its own (sorted by "
                     "str), but the rows of the result do not pair up with the gold rows")


def grade_table(
    name: Any, selection: Selection, result: pd.DataFrame, ignore_order_value: Any, deadline: Deadline
) -> TableReport:
    """Compare one table as the official ``compare_pandas_table`` does, and explain its failing columns."""
    ignore_order = _truth(ignore_order_value)

    def blank_report() -> TableReport:
        return TableReport(str(name), TableStatus.PASSED, ignore_order, len(selection.frame), len(result))

    if selection.literal:
        how = f"condition_cols entry {selection.entry!r} is not a list of column positions"
        return _grade_literally(blank_report(), selection, result, ignore_order_value, how)
    try:
        return _grade(blank_report(), selection, result, ignore_order, deadline)
    except (Stop, MemoryError):
        raise
    except Exception as error:
        warnings.warn(f"the judge's comparison of table {name!r} failed ({one_line(error)}); it is judged by the "
                      "official rule as written instead. Please report it to pytest-spider2dbt.", RuntimeWarning,
                      stacklevel=2)
        return _grade_literally(blank_report(), selection, result, ignore_order_value, "the judge's comparison failed")


def _truth(value: Any) -> bool | None:
    """bool(value), or None when that raises (the official comparison then fails every pair)."""
    try:
        return bool(value)
    except Exception:
        return None


def _grade(
    report: TableReport, selection: Selection, result: pd.DataFrame, ignore_order: bool | None, deadline: Deadline
) -> TableReport:
    ids, side = Ids(), "gold"
    try:
        gold_columns = _gold_columns(selection, ids)
        side = "result"
        result_columns = frame_columns(result, ids)
    except Exception as error:  # pandas' own conversion raises: so does the official code, which then scores 0
        report.status = TableStatus.GOLD_UNREADABLE if side == "gold" else TableStatus.VALUE_MISMATCH
        report.message = f"{side} table {report.name!r} cannot be converted to Python values: {one_line(error)}"
        return report
    doing = f"comparing table {report.name!r}"
    partners = {
        position: _first_match(gold, result_columns, ignore_order, deadline, doing)
        for position, gold in gold_columns.items()
    }
    gold_names = [str(column) for column in selection.frame.columns]
    result_names = [str(column) for column in result.columns]
    for given, position in zip(selection.given, selection.positions, strict=True):
        partner = partners[position]
        column = ColumnReport(given, gold_names[position], partner is not None)
        if partner is not None:
            column.result_index, column.result_column = partner, result_names[partner]
        else:
            deadline.check(doing)
            _explain(column, gold_columns[position], result_columns, result_names, ignore_order)
        report.columns.append(column)
    _settle(report)
    if report.passed:
        _grade_strictly(report, selection, gold_columns, result_columns, result_names)
    return report


def _gold_columns(selection: Selection, ids: Ids) -> dict[int, Column]:
    """The kept gold columns by position. pandas converts the kept frame as a whole, and a repeated column
    changes nothing in that conversion, so each position is converted once."""
    positions = sorted(set(selection.positions))
    frame = selection.frame
    kept = frame if positions == list(range(frame.shape[1])) else frame.iloc[:, positions]
    return dict(zip(positions, frame_columns(kept, ids), strict=True))


def _first_match(
    gold: Column, result_columns: list[Column], ignore_order: bool | None, deadline: Deadline, doing: str
) -> int | None:
    for position, result in enumerate(result_columns):
        deadline.check(doing)
        if compare.columns_match(gold, result, ignore_order):
            return position
    return None


def _settle(report: TableReport) -> None:
    """Status and one-line message of a compared table."""
    failing = report.failing_columns
    if not failing:
        report.status = TableStatus.PASSED
        report.message = f"table {report.name!r}: all {len(report.columns)} graded column(s) match"
        return
    report.strict_passed = False
    if report.gold_rows != report.result_rows:
        report.status = TableStatus.ROW_COUNT_MISMATCH
        report.message = f"table {report.name!r}: gold has {report.gold_rows:,} rows, the result {report.result_rows:,}"
        return
    report.status = TableStatus.VALUE_MISMATCH
    first = failing[0]
    report.message = (f"table {report.name!r}: {len(failing)} of {len(report.columns)} graded column(s) have no "
                      f"matching result column (first: {first.index} {first.name!r})")
    if report.ignore_order is None:
        report.message += "; its ignore_orders entry has no truth value"


def _explain(
    column: ColumnReport, gold: Column, result_columns: list[Column], result_names: list[str], ignore_order: bool | None
) -> None:
    """The result column the failure is most likely about, how many positions agree, a few differing values."""
    candidate, reason = _candidate(column.name, gold, result_columns, result_names, ignore_order)
    if candidate is None:
        return
    result = result_columns[candidate]
    found = compare.agreement(gold, result, ignore_order, MAX_POSITIONS_COMPARED_LITERALLY)
    column.candidate, column.candidate_index, column.candidate_reason = result_names[candidate], candidate, reason
    column.agreeing, column.compared, column.problem = int(found.agrees.sum()), found.compared, found.problem
    column.positions_sorted = bool(ignore_order)
    for position in np.flatnonzero(~found.agrees)[:SAMPLE_SIZE].tolist():
        column.samples.append(
            Sample(position, _display_at(gold, position, ignore_order), _display_at(result, position, ignore_order))
        )


def _candidate(
    name: str, gold: Column, result_columns: list[Column], result_names: list[str], ignore_order: bool | None
) -> tuple[int | None, CandidateReason | None]:
    """The result column of the same name, else the one of the same length agreeing at the most positions."""
    for position, result_name in enumerate(result_names):
        if result_name.lower() == name.lower():
            return position, CandidateReason.SAME_NAME
    best, best_score = None, -1
    for position, result in enumerate(result_columns):
        if result.length == gold.length and _may_share_values(gold, result):
            score = int(compare.agreement(gold, result, ignore_order, CANDIDATE_SEARCH_POSITIONS).agrees.sum())
            if score > best_score:
                best, best_score = position, score
    return (best, CandidateReason.CLOSEST) if best is not None else (None, None)


def _may_share_values(gold: Column, result: Column) -> bool:
    """Some value kind in common; columns compared value by value always qualify (and are not described)."""
    return gold.known_exotic or result.known_exotic or bool(set(gold.tags) & set(result.tags))


def _display_at(column: Column, position: int, ignore_order: bool | None) -> str:
    if position >= column.length:
        return "(no value)"
    value = column.values_at(np.array([column.row_at(position, bool(ignore_order))]))[0]
    try:
        text = repr(value) if isinstance(value, str) else str(value)
    except Exception:
        text = f"<{type(value).__name__} that cannot be printed>"
    text = " ".join(text.split()) if "\n" in text else text
    return text if len(text) <= DISPLAY_WIDTH else text[: DISPLAY_WIDTH - 3] + "..."


def _grade_strictly(
    report: TableReport,
    selection: Selection,
    gold_columns: dict[int, Column],
    result_columns: list[Column],
    result_names: list[str],
) -> None:
    """The strict verdict of a passing table; in order, matching columns already pair the rows position by
    position."""
    partners = _strict_partners(report, gold_columns, selection.positions, result_columns, result_names)
    report.strict_passed = not report.ignore_order or strict.rows_match(
        [gold_columns[position] for position in selection.positions], [result_columns[j] for j in partners]
    )
    if not report.strict_passed:
        report.strict_note = DIFFERENT_PAIRING


def _strict_partners(
    report: TableReport,
    gold_columns: dict[int, Column],
    positions: list[int],
    result_columns: list[Column],
    result_names: list[str],
) -> list[int]:
    """The result column each graded gold column is paired with in strict mode: the official first match,
    unless a result column of the same name matches too (identical columns, such as two boolean flags with
    as many trues, would otherwise be paired crosswise)."""
    partners = []
    for column, position in zip(report.columns, positions, strict=True):
        partner = column.result_index
        assert partner is not None
        same_name = [j for j, name in enumerate(result_names) if name.lower() == column.name.lower()]
        if same_name and same_name[0] != partner:
            if compare.columns_match(gold_columns[position], result_columns[same_name[0]], report.ignore_order):
                partner = same_name[0]
        column.strict_partner = result_names[partner]
        partners.append(partner)
    return partners


def _grade_literally(
    report: TableReport, selection: Selection, result: pd.DataFrame, ignore_order_value: Any, how: str
) -> TableReport:
    """The official table rule as written, without column details (`how` says why)."""
    try:
        passed = official.table_passes(result, selection.frame, selection.entry, ignore_order_value)
        problem = "" if passed else "no matching result column for some kept gold value list"
    except Exception as error:
        passed, problem = False, f"the official comparison raises {one_line(error)}"
    if passed:
        report.message = f"table {report.name!r} matches ({how}; judged by the official rule as written)"
        report.strict_passed = not report.ignore_order
        return report
    report.strict_passed = False
    rows_differ = report.gold_rows != report.result_rows
    report.status = TableStatus.ROW_COUNT_MISMATCH if rows_differ else TableStatus.VALUE_MISMATCH
    report.message = f"table {report.name!r}: {problem} ({how}; judged by the official rule as written)"
    return report
