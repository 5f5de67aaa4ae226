"""One instance's section of report.html: its agent's run, each graded table's gold and result side by side, its
log tails and (claude-code) its conversation. The same section is the instance's extra in a pytest-html report,
through the `pytest_html_*` functions at the end.

A section is rendered once per version of its record and logs (sections are cached), so re-rendering the page
after each finished instance of a sweep costs little.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..agents.claude import STREAM_LOG, Conversation, conversation_of
from ..categories import Category
from .logs import LogTail, log_tails
from .records import Record
from .templating import SECTION_CSS, template
from .terminal import duration

if TYPE_CHECKING:
    from ..match.report import ColumnReport, MatchReport, TableReport

SECTION_CACHE_SIZE = 1024
# Colour groups of the categories; the others (the result's own failures) are "bad".
CATEGORY_GROUPS = {
    Category.PASSED: "good",
    Category.AGENT_TIMEOUT: "agent",
    Category.AGENT_ERROR: "agent",
    Category.GOLD_MISSING: "setup",
    Category.CONFIG_ERROR: "setup",
    Category.JUDGE_TIMEOUT: "harness",
    Category.JUDGE_OUT_OF_MEMORY: "harness",
    Category.HARNESS_ERROR: "harness",
    Category.SKIPPED: "skip",
}


def anchor(label: str) -> str:
    """The HTML id of an instance's section (`lemonade001`, `lemonade001#2` with rounds)."""
    return "i-" + re.sub(r"[^A-Za-z0-9_-]", "-", label.replace("#", "-round-"))


def search_text(label: str, record: Record) -> str:
    """What the text filter looks in, for a row and a section alike."""
    return f"{label} {record.category} {record.outcome} {record.message}".lower()


def category_group(category: Category | str) -> str:
    return CATEGORY_GROUPS.get(Category(category), "bad")


def ran_agent(record: Record) -> bool:
    return bool(record.agent) and record.agent != "reused"


def exit_status(record: Record) -> str:
    """The agent's exit status, `timeout`, `none` (it never exited by itself), or empty when no agent ran."""
    if not ran_agent(record):
        return ""
    if record.timed_out:
        return "timeout"
    return "none" if record.agent_exit is None else str(record.agent_exit)


@dataclass(frozen=True)
class Links:
    """Where an instance's logs and result are: relative to the results folder the page is written in (with
    `round-<k>/` first on the top page of a multi-round run), or absolute file URIs (for pytest-html)."""

    round_folders: bool = False
    absolute: bool = False

    @classmethod
    def relative_to_folder(cls, records: tuple[Record, ...]) -> Links:
        return cls(round_folders=len({r.round for r in records}) > 1)

    def folder(self, record: Record) -> str:
        return f"round-{record.round}/" if self.round_folders else ""

    def logs(self, record: Record) -> str | None:
        if not record.log_dir:
            return None
        if self.absolute:
            return Path(record.log_dir).as_uri() + "/"
        return f"{self.folder(record)}logs/{quote(Path(record.log_dir).name)}/"

    def log_file(self, record: Record, tail: LogTail) -> str:
        return tail.path.as_uri() if self.absolute else f"{self.logs(record) or ''}{quote(tail.path.name)}"

    def result(self, record: Record, report: MatchReport | None) -> str | None:
        if not self.absolute:
            return self.folder(record) + quote(record.result_file) if record.result_file else None
        path = report.result_path if report is not None else None
        return Path(path).as_uri() if path and os.path.isabs(path) and record.result_file else None


# Sections rendered so far, by instance, round and links, with the record they show (as summary.json holds it).
# Comparing a record with the one shown costs far less than rendering it again. A record's logs change only
# when its instance runs again, which files a new record; until then its section keeps the tails it was shown with.
SECTIONS: dict[tuple[str, int, str, Links], tuple[dict[str, Any], str]] = {}


def instance_section(entry: dict[str, Any], label: str, links: Links) -> str:
    """The HTML section of one instance (its record as summary.json holds it), rendered again only when the
    record changed; past SECTION_CACHE_SIZE instances the oldest are forgotten."""
    key = (entry["instance_id"], entry.get("round", 1), label, links)
    cached = SECTIONS.get(key)
    if cached is not None and cached[0] == entry:
        return cached[1]
    section = render_section(Record.from_dict(entry), label, links)
    SECTIONS.pop(key, None)
    if len(SECTIONS) >= SECTION_CACHE_SIZE:
        del SECTIONS[next(iter(SECTIONS))]
    SECTIONS[key] = (entry, section)
    return section


def render_section(record: Record, label: str, links: Links) -> str:
    report = match_report(record)
    conversation = conversation_log(record)
    return template("instance.html.j2").render(
        record=record,
        anchor=anchor(label),
        label=label,
        search=search_text(label, record),
        group=category_group(record.category),
        description=Category(record.category).description,
        facts=agent_facts(record),
        tables=[table_view(table, report.message) for table in report.tables] if report is not None else [],
        hint=hint(report),
        logs_link=links.logs(record),
        result_link=links.result(record, report),
        tails=tails_shown(record, links, conversation is not None),
        conversation=conversation,
        split=split_difference,
        agreement=agreement,
        sorted_note=text_renderer().SORTED_POSITIONS_NOTE,
    )


def tails_shown(record: Record, links: Links, with_conversation: bool) -> list[tuple[LogTail, str]]:
    """The log tails of an instance that did not pass, with their links; the stream-json log's tail is left out
    when its conversation is shown."""
    if (record.score and record.strict_score) or not record.log_dir:
        return []
    tails = log_tails(Path(record.log_dir))
    return [(tail, links.log_file(record, tail)) for tail in tails
            if not (with_conversation and tail.path.name == STREAM_LOG)]


def agent_facts(record: Record) -> list[tuple[str, str]]:
    """The agent's run as label/value pairs; only what is known."""
    if not record.agent:
        return []
    optional = [
        ("exit status", exit_status(record)),
        ("agent time", duration(record.agent_seconds) if ran_agent(record) else None),
        ("cost", None if record.cost_usd is None else f"${record.cost_usd:.4f}"),
        ("turns", record.turns), ("input tokens", record.input_tokens), ("output tokens", record.output_tokens),
        ("model", record.model), ("isolation", record.isolation),
        ("clock", record.clock if record.clock != "off" else None),
        ("judge time", f"{record.judge_seconds:.2f} s" if record.judge_seconds else None),
    ]
    return [("agent", record.agent)] + [(name, str(value)) for name, value in optional if value not in (None, "")]


def conversation_log(record: Record) -> Conversation | None:
    """The agent's stream-json conversation (claude-code), when its log folder holds one."""
    return conversation_of(Path(record.log_dir) / STREAM_LOG) if record.log_dir else None


def match_report(record: Record) -> MatchReport | None:
    if not record.report:
        return None
    from ..match.report import MatchReport

    try:
        return MatchReport.from_dict(record.report)
    except (KeyError, TypeError, ValueError):
        return None


def text_renderer() -> Any:
    """The text renderer of match reports (imported on use): its caps, notes and hints are the page's too."""
    from ..match import render

    return render


def hint(report: MatchReport | None) -> str:
    """What the text report suggests doing next."""
    return text_renderer().hint(report) if report is not None else ""


@dataclass(frozen=True)
class TableView:
    """A graded table as the text report shows it: which message, which columns, what is left out."""

    report: TableReport
    message: str
    columns: list[ColumnReport]
    failing_not_shown: int
    result_tables: list[str]
    result_tables_not_shown: int

    @property
    def compared(self) -> bool:
        """Both sides were read, so there are row counts and columns to show (else the message says why)."""
        return self.report.gold_rows is not None and self.report.result_rows is not None

    @property
    def order(self) -> str:
        return {True: "ignore order", False: "in order", None: "order flag unusable"}[self.report.ignore_order]

    @property
    def strict(self) -> str:
        return "rows match too" if self.report.strict_passed else (self.report.strict_note or "rows differ")

    @property
    def with_samples(self) -> list[ColumnReport]:
        return [column for column in self.columns if not column.matched and column.samples]

    @property
    def sorted_positions(self) -> bool:
        return any(column.positions_sorted for column in self.with_samples)


def table_view(table: TableReport, headline_message: str) -> TableView:
    """Every matched column and the failing ones up to the text report's cap; the table's message unless the
    headline says it already or the columns do."""
    from ..match.report import MAX_FAILING_COLUMNS_SHOWN, MAX_TABLES_LISTED

    failing = table.failing_columns
    shown = {id(column) for column in failing[:MAX_FAILING_COLUMNS_SHOWN]}
    says_more = not table.passed and (not failing or table.status == "row_count_mismatch")
    return TableView(
        report=table,
        message=table.message if says_more and table.message != headline_message else "",
        columns=[column for column in table.columns if column.matched or id(column) in shown],
        failing_not_shown=max(0, len(failing) - MAX_FAILING_COLUMNS_SHOWN),
        result_tables=table.result_tables[:MAX_TABLES_LISTED],
        result_tables_not_shown=max(0, len(table.result_tables) - MAX_TABLES_LISTED),
    )


def agreement(column: ColumnReport, table: TableReport) -> str:
    """`3 of 5 positions agree`, saying so when fewer positions were compared than the longer side has."""
    longest = max(table.gold_rows or 0, table.result_rows or 0)
    compared = column.compared or 0
    of = f"{compared:,}" if compared == longest else f"{compared:,} compared (of {longest:,})"
    return f"{column.agreeing or 0:,} of {of} positions agree"


@dataclass(frozen=True)
class SplitSample:
    """Two differing values around their common start and end, so that only the difference is marked."""

    position: int
    prefix: str
    gold: str
    result: str
    suffix: str


def split_difference(position: int, gold: str, result: str) -> SplitSample:
    shortest = min(len(gold), len(result))
    start = 0
    while start < shortest and gold[start] == result[start]:
        start += 1
    end = 0
    while end < shortest - start and gold[-1 - end] == result[-1 - end]:
        end += 1
    return SplitSample(position, gold[:start], gold[start:len(gold) - end], result[start:len(result) - end],
                       gold[len(gold) - end:])


# The columns an instance's row gets in a pytest-html report: key, heading, and whether pytest-html may sort it
# (it sorts cell text as text, which is wrong for numbers).
PYTEST_HTML_COLUMNS = (("spider2category", "Category", True), ("spider2score", "Score", True),
                       ("spider2seconds", "Agent s", False), ("spider2cost", "Cost", False))


def pytest_html_header_cells() -> list[str]:
    return [f'<th class="{"sortable" if sortable else ""}" data-column-type="{key}">{heading}</th>'
            for key, heading, sortable in PYTEST_HTML_COLUMNS]


def pytest_html_row_cells(record_data: dict[str, Any] | None) -> list[str]:
    """The cells of those columns for a test's record; empty for a test that is not an instance."""
    from markupsafe import escape

    values = ["", "", "", ""]
    if record_data:
        record = Record.from_dict(record_data)
        values = [str(record.category), str(record.score),
                  f"{record.agent_seconds:.1f}" if ran_agent(record) else "",
                  "" if record.cost_usd is None else f"${record.cost_usd:.4f}"]
    return [f'<td class="col-{key}">{escape(value)}</td>'
            for (key, _, _), value in zip(PYTEST_HTML_COLUMNS, values, strict=True)]


def pytest_html_extra(record_data: dict[str, Any]) -> str:
    """An instance's section of report.html, with its styles and absolute links, for its pytest-html row."""
    record = Record.from_dict(record_data)
    label = record.instance_id if record.round == 1 else f"{record.instance_id}#{record.round}"
    return f"<style>{SECTION_CSS}</style>" + instance_section(record_data, label, Links(absolute=True))
