"""The text of a failing instance's test: the verdict on the first line, then why, then what to do."""

from __future__ import annotations

from collections.abc import Sequence

from ..agents import AgentOutcome
from ..categories import Category
from .logs import LogTail
from .records import Record

MAX_FAILURE_BYTES = 20 * 1024
HEADLINE_WIDTH = 400
AGENT_CATEGORIES = {Category.AGENT_ERROR, Category.AGENT_TIMEOUT}


def headline(record: Record, outcome: AgentOutcome | None) -> str:
    """`<id>: <category> — <why>`, one line: what the short summary and the JUnit message show."""
    why = record.message
    if record.category in AGENT_CATEGORIES and outcome is not None:
        why = f"{outcome.describe()}; {why}" if why else outcome.describe()
    line = f"{record.instance_id}: {record.category} — {' '.join(why.split())}"
    return line if len(line) <= HEADLINE_WIDTH else line[: HEADLINE_WIDTH - 3] + "..."


def failure_text(
    record: Record,
    outcome: AgentOutcome | None,
    report_body: str,
    *,
    hints: Sequence[str] = (),
    tails: Sequence[LogTail] = (),
) -> str:
    """The whole failure report, capped at MAX_FAILURE_BYTES whatever the agent printed."""
    parts = [headline(record, outcome)]
    if outcome is not None and record.category not in AGENT_CATEGORIES:
        parts.append(outcome.describe())
    parts += [f"hint: {hint}" for hint in hints]
    if report_body:
        parts.append(report_body)
    parts += [tail.render() for tail in tails]
    return cap("\n".join(parts))


def cap(text: str, limit: int = MAX_FAILURE_BYTES) -> str:
    """At most `limit` bytes, the note saying what was cut included."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    note = f"\n[... {len(data):,} bytes in all; the rest of this report was cut]"
    return data[: limit - len(note.encode())].decode("utf-8", errors="ignore") + note
