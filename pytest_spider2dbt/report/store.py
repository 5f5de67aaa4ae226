"""summary.json: the latest record of every instance a results folder holds, rewritten as each one finishes.

It is the folder's own story, whichever run wrote each record: a `-k` run updates one instance and keeps the
others, so the folder score it states is the one the official evaluate.py prints for the folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any

from ..collect import ResultsFolder
from .records import Record
from .summary import Summary

SUMMARY = "summary.json"
REPORT = "report.html"
SCHEMA = 1


def read_records(folder: ResultsFolder, name: str = SUMMARY) -> dict[str, Record]:
    """instance id -> record, from the folder's summary; an unreadable summary holds no records."""
    try:
        data = json.loads(folder.read_text(name) or "{}")
    except json.JSONDecodeError:
        return {}
    entries = data.get("instances") if isinstance(data, dict) else None
    records = {}
    for entry in entries if isinstance(entries, list) else []:
        try:
            record = Record.from_dict(entry)
        except (TypeError, ValueError, AttributeError):
            continue
        records[record.instance_id] = record
    return records


def document(
    records: list[Record], *, strict: bool, provenance: dict[str, Any], baseline: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The whole summary.json: the folder's numbers, what produced the latest run, and every record; with
    `baseline` ({"path", "newly_passing", "newly_failing", "p_value"}), the flips against an earlier run too."""
    ordered = sorted(records, key=lambda r: r.key)
    data = {
        "schema": SCHEMA,
        "folder": Summary(tuple(ordered), strict=strict).to_dict(),
        "provenance": provenance,
        "instances": [record.to_dict() for record in ordered],
    }
    if baseline is not None:
        data["baseline"] = baseline
    return data


def write_summary(folder: ResultsFolder, data: dict[str, Any], name: str = SUMMARY) -> None:
    """Replace the summary atomically with a document; the caller holds the folder's lock."""
    folder.write_text(name, json.dumps(data, indent=2, default=str) + "\n")


def add_record(
    folder: ResultsFolder, record: Record, make_document: Callable[[list[Record]], dict[str, Any]],
    name: str = SUMMARY,
) -> dict[str, Any]:
    """Put one instance's latest record into the summary, rebuilt by `make_document` from every record the
    folder holds; the caller holds the folder's lock."""
    records = read_records(folder, name)
    records[record.instance_id] = record
    data = make_document(list(records.values()))
    write_summary(folder, data, name)
    return data


def html_name(summary_name: str) -> str:
    """report.html beside summary.json (judge-report.html beside judge-summary.json)."""
    return summary_name.replace(SUMMARY, REPORT)


def write_html(folder: ResultsFolder, document: dict[str, Any], summary_name: str = SUMMARY) -> None:
    """Render the page from the summary document and replace it atomically; the caller holds the lock."""
    folder.write_text(html_name(summary_name), rendered(document), durable=False)


def rendered(document: dict[str, Any]) -> str:
    """report.html's text; a failure to render costs the page, never the run or its summary.json."""
    try:
        from . import html  # Jinja2 loads only when a page is written, not in every pytest run

        return html.render_report(document)
    except Exception as error:
        message = escape(f"{type(error).__name__}: {error}")
        return (f"<!doctype html><meta charset=utf-8><title>Spider2-DBT</title><p>report.html could not be "
                f"rendered ({message}); summary.json beside it holds every number.</p>")
