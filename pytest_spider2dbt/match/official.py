"""The official Spider2-DBT rule, stated once and literally: the specification every faster path optimises.

This is ``duckdb_match`` and ``compare_pandas_table`` of ``spider2-dbt/evaluation_suite/eval_utils.py`` in
github.com/xlang-ai/Spider2 (commit e12c5f1e, 2025-11-07), with ``evaluate.py``'s rule that any exception scores 0,
written out as small functions a reader can check line by line against the original:

* :func:`sort_key` is the key ignore-order columns are sorted by (Python's sort is stable, so values with equal
  keys keep their order);
* :func:`values_agree` is the per-position rule: both missing, two numbers within 0.01, or not ``!=``;
* :func:`vectors_match` is the column rule (sort each column on its own when ignoring order, same length, every
  position agrees; any exception means no match);
* :func:`table_passes` is the table rule: every kept gold column is matched by some result column;
* :func:`table_settings` holds the defaults (all gold columns, rows in order) and the length checks;
* :func:`duckdb_match` reads the tables (a fresh read-only connection per table, ``SELECT * FROM <name>`` with the
  name unquoted, ``fetchdf()``) and scores 1 or 0.

The judge (``pytest_spider2dbt.match.duckdb_match``) runs these functions on its slow path and proves each faster
path equal to them; the tests compare this module with the real official code; ``benchmarks/bench_match.py``
measures the judge against it. Nothing here is hardened: it reads files and configs exactly as the official code
does, including a ``condition_tabs`` name that is SQL and a result view that reads another file.
"""

from __future__ import annotations

import math
from typing import Any

import duckdb
import pandas as pd

TOLERANCE = 0.01


def sort_key(value: Any) -> tuple[bool, str, bool]:
    """The official sort key of an ignore-order column's values; ``str(value)`` may raise."""
    return (value is None, str(value), isinstance(value, (int, float)))


def values_agree(a: Any, b: Any) -> bool:
    """Whether two values at the same position agree; may raise, which fails their column."""
    if pd.isna(a) and pd.isna(b):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), abs_tol=TOLERANCE)
    return not (a != b)


def vectors_match(gold: Any, result: Any, ignore_order: Any) -> bool:
    """The official ``vectors_match``: whether a result column matches a gold column."""
    try:
        if ignore_order:
            gold, result = sorted(gold, key=sort_key), sorted(result, key=sort_key)
        if len(gold) != len(result):
            return False
        return all(values_agree(a, b) for a, b in zip(gold, result, strict=True))
    except Exception:
        return False


def column_lists(frame: Any) -> Any:
    """The columns of a table as the official code compares them: lists of whatever Python values pandas gives."""
    return frame.transpose().values.tolist()


def kept_gold_columns(gold: pd.DataFrame, condition_cols: Any) -> Any:
    """The graded part of a gold table: the ``condition_cols`` positions, or every column for ``[]``."""
    return gold.iloc[:, condition_cols] if condition_cols != [] else gold


def table_passes(result: pd.DataFrame, gold: pd.DataFrame, condition_cols: Any, ignore_order: Any) -> bool:
    """The official ``compare_pandas_table``: every kept gold column has a matching result column; may raise."""
    gold_columns = column_lists(kept_gold_columns(gold, condition_cols))
    result_columns = column_lists(result)
    return all(any(vectors_match(g, r, ignore_order) for r in result_columns) for g in gold_columns)


def table_settings(table_count: int, condition_cols: Any, ignore_orders: Any) -> tuple[Any, Any]:
    """Per-table ``condition_cols`` and ``ignore_orders`` with the official defaults; raises on a length mismatch."""
    if ignore_orders is None:
        ignore_orders = [False] * table_count
    if len(ignore_orders) != table_count:
        raise AssertionError("ignore_orders does not have one entry per table")
    if condition_cols is None:
        condition_cols = [[]] * table_count
    if len(condition_cols) != table_count:
        raise AssertionError("condition_cols does not have one entry per table")
    return condition_cols, ignore_orders


def table_names(path: Any) -> list[Any]:
    """Every table of a database, as ``SHOW TABLES`` lists them."""
    connection = duckdb.connect(database=path, read_only=True)
    try:
        return [row[0] for row in connection.execute("SHOW TABLES").fetchall()]
    finally:
        connection.close()


def read_table(path: Any, name: Any) -> pd.DataFrame:
    """One table, read on its own fresh connection with its name unquoted."""
    connection = duckdb.connect(database=path, read_only=True)
    try:
        return connection.execute(f"SELECT * FROM {name}").fetchdf()
    finally:
        connection.close()


def duckdb_match(
    result: Any, gold: Any, condition_tabs: Any = None, condition_cols: Any = None, ignore_orders: Any = None
) -> int:
    """The official score, 1 or 0, as ``evaluate.py`` gives it (any exception is 0)."""
    try:
        return _score(result, gold, condition_tabs, condition_cols, ignore_orders)
    except Exception:
        return 0


def _score(result: Any, gold: Any, condition_tabs: Any, condition_cols: Any, ignore_orders: Any) -> int:
    if condition_tabs is None:
        condition_tabs = table_names(gold)
    gold_tables = [read_table(gold, name) for name in condition_tabs]
    try:
        result_tables = [read_table(result, name) for name in condition_tabs]
    except Exception:
        return 0
    if len(gold_tables) != len(result_tables):
        raise AssertionError("condition_tabs was consumed by the first reading")
    condition_cols, ignore_orders = table_settings(len(gold_tables), condition_cols, ignore_orders)
    for i, (gold_table, result_table) in enumerate(zip(gold_tables, result_tables, strict=True)):
        if not table_passes(result_table, gold_table, condition_cols[i], ignore_orders[i]):
            return 0
    return 1
