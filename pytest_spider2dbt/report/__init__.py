"""Stage 6: records, failure text, the summary (terminal, summary.json, report.html) and JUnit properties.

`records` holds one instance's result; `failure` and `logs` make the failing test's text; `summary` and `stats`
compute the numbers; `store` keeps summary.json; `terminal` shows them; `compare` sets a run against a baseline.
"""

from __future__ import annotations

from .records import Record, categorize
from .summary import Summary

__all__ = ["Record", "Summary", "categorize"]
