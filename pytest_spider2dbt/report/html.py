"""report.html: one self-contained page (no network, no server) rendered from summary.json's document."""

from __future__ import annotations

from typing import Any

REPORT = "report.html"


def render_report(document: dict[str, Any]) -> str:
    """The whole page for a results folder's summary document (see report.store.document)."""
    return "<!doctype html><title>Spider2-DBT</title><p>report.html is not written yet</p>"
