"""A MatchReport as text: the verdict on the first line, then each graded table, then what to do next."""

from __future__ import annotations

from pytest_spider2dbt.categories import Category

from .report import MAX_FAILING_COLUMNS_SHOWN, ColumnReport, MatchReport, TableReport, TableStatus

MAX_HEADLINE_LENGTH = 400
"""Characters of the first line at the most; it stays one line whatever the message holds."""

HINTS = {
    Category.TABLE_MISSING: "build the model (dbt run) and check its schema and alias: dbt may have written it into "
    "a custom schema such as main_<schema>, or under another name",
    Category.ROW_COUNT_MISMATCH: "the model's grain differs from gold: look for joins that fan out, missing filters "
    "or missing deduplication",
    Category.VALUE_MISMATCH: "compare the SQL of the listed columns with the instruction; numbers must agree within "
    "0.01 and text exactly (case and whitespace count)",
    Category.CONFIG_ERROR: "the evaluator config of this instance is inconsistent with its gold database; fix "
    "spider2_eval.jsonl or mark the instance as a known issue",
    Category.GOLD_MISSING: "check the gold folder and the gold file name in spider2_eval.jsonl; some instances ship "
    "without a usable gold database",
    Category.NO_RESULT_DB: "check that the agent's dbt run wrote a DuckDB file and that the result path points at "
    "it (profiles.yml target)",
    Category.RESULT_REFUSED: "materialize the graded models as tables: a view or macro that reads another file "
    "(read_duckdb, read_parquet, ATTACH, ...) is refused, as it could point at the gold",
    Category.JUDGE_TIMEOUT: "reading or comparing the tables took too long: a graded view may do heavy work on "
    "every read (materialize it), or raise the judge's time limit",
    Category.JUDGE_OUT_OF_MEMORY: "reading the tables needed more memory than the judge may use: materialize heavy "
    "views, or raise the judge's memory limit",
    Category.HARNESS_ERROR: "the judge failed on its own; please report it with the two files",
}
UNREADABLE_HINT = ("the table exists but DuckDB cannot read it; a view that names its database (e.g. "
                   "project.main.source) breaks once the file is opened under another name: materialize it as a table")
STRICT_HINT = ("the official verdict compares columns one by one, each sorted on its own; the rows of the result do "
               "not pair up with the gold rows")
SORTED_POSITIONS_NOTE = ("(sorted pos: the position after each column was sorted on its own by str(value), as the "
                         "official rule does when ignoring order; not a row number)")
_DETAILED_ELSEWHERE = {TableStatus.MISSING, TableStatus.UNREADABLE, TableStatus.REFUSED, TableStatus.GOLD_UNREADABLE}


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


def render(report: MatchReport, color: bool = False) -> str:
    """The whole report as text; its first line is the verdict."""
    palette = _Palette(color)
    lines = [headline(report, palette)]
    for table in report.tables:
        lines += _table_lines(table, palette, report.message)
    advice = hint(report)
    if advice:
        lines.append(palette.note(f"hint: {advice}"))
    return "\n".join(lines)


def headline(report: MatchReport, palette: _Palette | None = None) -> str:
    """One line: `<instance>: <category> — <message>`, cut to MAX_HEADLINE_LENGTH characters."""
    palette = palette or _Palette(False)
    who = " ".join(f"{report.instance_id}: ".split()) + " " if report.instance_id else ""
    message = " ".join(report.message.split())
    room = MAX_HEADLINE_LENGTH - len(who) - len(report.category) - len(" — ")
    if len(message) > room:
        message = message[: max(room - 3, 0)] + "..."
    category = palette.good(str(report.category)) if report.score else palette.bad(str(report.category))
    return f"{who}{category} — {message}"


def hint(report: MatchReport) -> str:
    """What to do next about this verdict ('' for a clean pass)."""
    if report.category == Category.PASSED:
        return "" if report.strict_score else STRICT_HINT
    if report.category == Category.TABLE_MISSING and any(t.status == TableStatus.UNREADABLE for t in report.tables):
        return UNREADABLE_HINT
    return HINTS.get(report.category, "")


def _table_lines(table: TableReport, palette: _Palette, headline_message: str) -> list[str]:
    """The table's lines; its message is left out when the headline already says it."""
    status = palette.good(str(table.status)) if table.passed else palette.bad(str(table.status))
    if table.status in _DETAILED_ELSEWHERE:
        lines = [f"  table {table.name!r}: {status}"]
        return lines + ([f"    {table.message}"] if table.message != headline_message else [])
    order = {True: "ignore order", False: "in order", None: "order flag unusable"}[table.ignore_order]
    rows = f"rows gold {table.gold_rows:,} / result {table.result_rows:,}"
    lines = [f"  table {table.name!r} ({order}, {rows}): {status}"]
    if table.passed:
        strict = "rows match too" if table.strict_passed else palette.note(table.strict_note or "rows differ")
        lines[0] += palette.dim(f" - {len(table.columns)} column(s) matched; ") + strict
        return lines
    failing = table.failing_columns
    if (not failing or table.status == TableStatus.ROW_COUNT_MISMATCH) and table.message != headline_message:
        lines.append(f"    {table.message}")
    if any(column.samples and column.positions_sorted for column in failing[:MAX_FAILING_COLUMNS_SHOWN]):
        lines.append(palette.dim(f"    {SORTED_POSITIONS_NOTE}"))
    for column in failing[:MAX_FAILING_COLUMNS_SHOWN]:
        lines += _column_lines(column, table, palette)
    if len(failing) > MAX_FAILING_COLUMNS_SHOWN:
        lines.append(f"    ... and {len(failing) - MAX_FAILING_COLUMNS_SHOWN} more failing column(s)")
    matched = len(table.columns) - len(failing)
    if matched:
        lines.append(palette.dim(f"    ({matched} other graded column(s) matched)"))
    return lines


def _column_lines(column: ColumnReport, table: TableReport, palette: _Palette) -> list[str]:
    lines = [f"    gold column {column.index} {column.name!r}: {palette.bad('no result column matches')}"]
    if column.candidate is None:
        lines.append("      no result column of the same length and kind of values to compare with")
        return lines
    why = "same name" if column.candidate_reason == "same name" else "closest by values"
    longest = max(table.gold_rows or 0, table.result_rows or 0)
    compared = f"{column.compared:,}"
    if column.compared != longest:
        compared += f" compared (of {longest:,})"
    lines.append(f"      result column {column.candidate!r} ({why}): {column.agreeing:,} of {compared} positions agree")
    if column.problem:
        lines.append(f"      {column.problem[:300]}")
    if column.samples:
        label = "sorted pos" if column.positions_sorted else "row"
        lines.append(palette.dim(f"        {label:>10}  {'gold':<40}  result"))
        lines += [f"        {sample.position:>10}  {sample.gold:<40}  {sample.result}" for sample in column.samples]
    return lines
