"""The judge: the official Spider2-DBT verdict on two DuckDB files, computed fast, with the reason it fails.

Modules, in the order a verdict uses them:

* ``official``: the official rule stated once, literally; the specification every other module optimises;
* ``read``: connecting (a fresh read-only connection per table), fetching within the judge's limits, and the
  checks of the evaluator entry;
* ``values``: what the official rule sees of a value (kind, number, identity) and of a column;
* ``columns``: typed conversion of a table's columns, pandas' own conversion reproduced from numpy arrays;
* ``compare``: vectorised agreement of two columns, provably the official ``vectors_match``;
* ``strict``: the strict row-multiset check;
* ``grade``: one table's verdict and the explanation of its failing columns;
* ``verdict``: ``duckdb_match`` itself;
* ``report`` and ``render``: the findings as data, and as text.

Why the fast verdict is the official one, in four steps (each argued in its module): the values are those the
official code compares, as pandas converts the table (``columns``: pandas' own conversion for small frames and
unknown dtypes, else its rule reproduced from numpy arrays and checked against pandas on a probe of rows); each value
is reduced to what the official rule asks of it, without raising where ``==`` and ``str()`` do not (``values``);
two values agree exactly when the official ``values_agree`` says so, and columns are put in the official sort order
(``compare``, ``values.official_order``); the only shortcut that skips the sort, identical multisets of values, is
taken only where no two distinct values can share a sort key (``compare.ties_impossible``). Anything else, and any
column holding a value of another type, is compared by the functions of ``official`` themselves.
"""

from __future__ import annotations

from .columns import FAST_PATH_MIN_CELLS
from .read import JudgeLimits
from .report import ColumnReport, MatchReport, TableReport
from .verdict import duckdb_match

__all__ = ["FAST_PATH_MIN_CELLS", "ColumnReport", "JudgeLimits", "MatchReport", "TableReport", "duckdb_match"]
