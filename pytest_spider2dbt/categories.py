"""The one vocabulary of outcomes: every stage names an instance's result with a Category."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """Why an instance scored what it scored. The value is what summary.json, JUnit and the terminal show."""

    PASSED = "passed"
    AGENT_TIMEOUT = "agent_timeout"
    AGENT_ERROR = "agent_error"
    NO_RESULT_DB = "no_result_db"
    RESULT_REFUSED = "result_refused"
    TABLE_MISSING = "table_missing"
    ROW_COUNT_MISMATCH = "row_count_mismatch"
    VALUE_MISMATCH = "value_mismatch"
    STRICT_MISMATCH = "strict_mismatch"
    GOLD_MISSING = "gold_missing"
    CONFIG_ERROR = "config_error"
    JUDGE_TIMEOUT = "judge_timeout"
    JUDGE_OUT_OF_MEMORY = "judge_out_of_memory"
    HARNESS_ERROR = "harness_error"
    SKIPPED = "skipped"

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self]


DESCRIPTIONS = {
    Category.PASSED: "the official verdict is a pass",
    Category.AGENT_TIMEOUT: "the agent ran past its time limit; the workspace was judged as it was",
    Category.AGENT_ERROR: "the agent exited non-zero, crashed or never started, and the result fails",
    Category.NO_RESULT_DB: "no DuckDB file was left, or it is not a readable DuckDB database",
    Category.RESULT_REFUSED: "the result was refused: a symlink, a file outside the workspace, too large, or "
    "a table that reads another file",
    Category.TABLE_MISSING: "a graded table is not in the result's default schema",
    Category.ROW_COUNT_MISMATCH: "a graded table has a different number of rows than the gold",
    Category.VALUE_MISMATCH: "a graded gold column has no result column with the same values",
    Category.STRICT_MISMATCH: "every column matches on its own, but whole rows do not (--spider2-strict)",
    Category.GOLD_MISSING: "the gold database is absent or unreadable",
    Category.CONFIG_ERROR: "the evaluator entry does not fit the gold database",
    Category.JUDGE_TIMEOUT: "reading the tables took longer than --spider2-judge-timeout",
    Category.JUDGE_OUT_OF_MEMORY: "reading the tables needed more than the judge's memory limit",
    Category.HARNESS_ERROR: "the harness itself failed (disk full, a crashed worker, an unreadable file)",
    Category.SKIPPED: "not run: marked skip (known issue) or deselected by a mark",
}

# Categories the judge itself gives (the rest come from the agent run or the harness).
JUDGE_CATEGORIES = (
    Category.PASSED,
    Category.TABLE_MISSING,
    Category.ROW_COUNT_MISMATCH,
    Category.VALUE_MISMATCH,
    Category.CONFIG_ERROR,
    Category.GOLD_MISSING,
    Category.NO_RESULT_DB,
    Category.RESULT_REFUSED,
    Category.JUDGE_TIMEOUT,
    Category.JUDGE_OUT_OF_MEMORY,
)
