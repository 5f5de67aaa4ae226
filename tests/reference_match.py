"""A deliberately simple reading of the official ``duckdb_match``, written from DESIGN.md ("The official
verdict"); the tests check the fast implementation against it. Slow on purpose: every pair of columns is
sorted again, value by value, exactly as the rules say."""

from __future__ import annotations

import math
from typing import Any

import duckdb
import pandas as pd

TOLERANCE = 0.01


def reference_score(
    result: str, gold: str, condition_tabs: Any = None, condition_cols: Any = None, ignore_orders: Any = None
) -> int:
    """1 or 0; like evaluate.py, any exception scores 0."""
    try:
        return _score(result, gold, condition_tabs, condition_cols, ignore_orders)
    except Exception:
        return 0


def _score(result: str, gold: str, condition_tabs: Any, condition_cols: Any, ignore_orders: Any) -> int:
    if condition_tabs is None:
        condition_tabs = _table_names(gold)
    gold_tables = [read_table(gold, name) for name in condition_tabs]
    try:
        result_tables = [read_table(result, name) for name in condition_tabs]
    except Exception:
        return 0
    count = len(gold_tables)
    if ignore_orders is None:
        ignore_orders = [False] * count
    if condition_cols is None:
        condition_cols = [[]] * count
    if len(ignore_orders) != count or len(condition_cols) != count:
        return 0
    for i in range(count):
        if not table_matches(result_tables[i], gold_tables[i], condition_cols[i], ignore_orders[i]):
            return 0
    return 1


def _table_names(path: str) -> list[str]:
    connection = duckdb.connect(database=path, read_only=True)
    try:
        return [row[0] for row in connection.execute("SHOW TABLES").fetchall()]
    finally:
        connection.close()


def read_table(path: str, name: str) -> pd.DataFrame:
    connection = duckdb.connect(database=path, read_only=True)
    try:
        return connection.execute(f"SELECT * FROM {name}").fetchdf()
    finally:
        connection.close()


def table_matches(result: pd.DataFrame, gold: pd.DataFrame, columns: Any, ignore_order: Any) -> bool:
    """Every kept gold column is matched by some result column (may raise, like the official code)."""
    kept = gold.iloc[:, columns] if columns != [] else gold
    gold_columns = kept.transpose().values.tolist()
    result_columns = result.transpose().values.tolist()
    return all(any(columns_match(g, r, ignore_order) for r in result_columns) for g in gold_columns)


def sort_key(value: Any) -> tuple:
    return (value is None, str(value), isinstance(value, (int, float)))


def columns_match(gold: Any, result: Any, ignore_order: Any) -> bool:
    try:
        if ignore_order:
            gold = sorted(gold, key=sort_key)
            result = sorted(result, key=sort_key)
        if len(gold) != len(result):
            return False
        return all(values_agree(a, b) for a, b in zip(gold, result))
    except Exception:
        return False


def values_agree(a: Any, b: Any) -> bool:
    """The per-position rule (may raise, like the official code)."""
    if pd.isna(a) and pd.isna(b):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), abs_tol=TOLERANCE)
    return not (a != b)
