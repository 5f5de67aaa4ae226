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
"""

from __future__ import annotations

from .columns import FAST_PATH_MIN_CELLS
from .read import JudgeLimits
from .report import ColumnReport, MatchReport, TableReport
from .verdict import duckdb_match

__all__ = ["FAST_PATH_MIN_CELLS", "ColumnReport", "JudgeLimits", "MatchReport", "TableReport", "duckdb_match"]
