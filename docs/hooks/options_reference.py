"""MkDocs hook: the options reference, built from `pytest_spider2dbt.options.OPTIONS` at every build.

A page's `<!-- options-reference -->` marker becomes a table with one row per option: its command-line form, ini key,
environment variable, default and help text, so the reference never restates the settings table by hand.
"""

from __future__ import annotations

import re
from typing import Any

from pytest_spider2dbt.options import OPTIONS

MARKER = "<!-- options-reference -->"

# Where each option is explained at length, by its command-line form; an option without an entry gets no link.
SEE_ALSO = {
    "--spider2-root": "running.md",
    "--spider2-demo": "getting-started.md#the-embedded-demo",
    "--spider2-agent": "agents.md",
    "--spider2-timeout": "agents.md#time-limits-and-leftovers",
    "--spider2-results": "results.md#judging-a-submission",
    "--spider2-strict": "judge.md#the-strict-score",
    "--spider2-check": "fair-instances.md#preflight-spider2-check",
    "--spider2-rounds": "ci.md#rounds",
    "--spider2-reuse": "ci.md#resuming",
    "--spider2-xfail": "fair-instances.md#the-registry-of-known-defects",
    "--spider2-no-known-issues": "fair-instances.md#the-registry-of-known-defects",
    "--spider2-model": "agents.md#the-built-in-agents",
    "--spider2-budget": "agents.md#the-built-in-agents",
    "--spider2-sandbox": "trust.md#choosing",
    "--spider2-sandbox-bind": "trust.md#credentials-and-tools",
    "--spider2-max-result-mb": "troubleshooting.md",
    "--spider2-judge-timeout": "judge.md#two-deliberate-differences",
    "--spider2-judge-memory-mb": "judge.md#two-deliberate-differences",
    "--spider2-baseline": "results.md#did-a-change-help",
    "--spider2-clock": "fair-instances.md#a-frozen-clock-for-date-dependent-golds",
    "--spider2-out": "results.md",
}

STATED_DEFAULT = re.compile(r"\s*\(default: [^()]*\)")


def on_page_markdown(markdown: str, **_: Any) -> str:
    return markdown.replace(MARKER, options_table()) if MARKER in markdown else markdown


def options_table() -> str:
    rows = ["| option | ini / environment | default | what it does |", "| --- | --- | --- | --- |"]
    for option in sorted(OPTIONS, key=lambda option: option.cli):
        names = f"`{option.ini}`<br>`{option.env}`" if option.env else f"`{option.ini}`"
        cells = (f"`{option.cli}`", names, default_text(option.default), help_text(option))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def default_text(default: Any) -> str:
    if isinstance(default, bool):
        return "on" if default else "off"
    if default is None or default == ():
        return "none"
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    return f"`{default}`"


def help_text(option: Any) -> str:
    """The help without the default it may state (the table has a column for it), plus where to read more."""
    text = markdown_safe(STATED_DEFAULT.sub("", option.help))
    page = SEE_ALSO.get(option.cli)
    return f"{text} [More]({page})" if page else text


def markdown_safe(text: str) -> str:
    """Outside code spans, `<...>` is text (not an HTML tag) and `|` does not end the table cell."""
    parts = text.split("`")
    for index in range(0, len(parts), 2):
        parts[index] = parts[index].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts).replace("|", "\\|")
