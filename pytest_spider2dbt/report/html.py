"""report.html: one self-contained page (no network, no server) rendered from summary.json's document.

The page is built from the same objects as the terminal: the records, a Summary of them, and each failing
instance's MatchReport rebuilt with `MatchReport.from_dict` (the text renderer's caps, notes and hints are
used as they are). Each instance that did not pass gets a section (html_section); the templates (templating)
escape everything an agent or a database wrote, and the page's one inline script runs under a
Content-Security-Policy that names its hash, so no other script could run and nothing can be fetched.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .html_section import (
    SECTION_CACHE_SIZE,
    Links,
    anchor,
    category_group,
    exit_status,
    instance_section,
    ran_agent,
    search_text,
)
from .records import Record
from .summary import Summary, fraction
from .templating import CSP, PAGE_CSS, SCRIPT, template
from .terminal import duration

if TYPE_CHECKING:
    from markupsafe import Markup

REPORT = "report.html"
VERSIONS_SHOWN = ("pytest-spider2dbt", "python", "pandas", "numpy", "duckdb", "dbt-core", "dbt-duckdb", "pytest")
PROVENANCE_SHOWN = (
    ("agent", "agent"), ("isolation", "isolation"), ("clock", "clock"), ("verdict", "verdict"), ("suite", "suite"),
    ("spider2_commit", "Spider2 commit"), ("evaluation_sha256", "spider2_eval.jsonl sha256"),
    ("instructions_sha256", "spider2-dbt.jsonl sha256"),
)


@dataclass(frozen=True)
class Row:
    """One record as a row of the instance table."""

    label: str
    anchor: str
    category: str
    group: str
    score: int
    strict_score: int
    agent_seconds: float | None
    cost_usd: float | None
    turns: int | None
    exit_status: str
    rounds_passed: str
    outcome: str
    message: str
    search: str
    has_section: bool


@dataclass(frozen=True)
class CategoryBar:
    category: str
    group: str
    count: int
    share: float
    description: str


@dataclass(frozen=True)
class GridCell:
    verdict: str
    category: str
    target: str


@dataclass(frozen=True)
class GridRow:
    instance_id: str
    passed: str
    cells: list[GridCell | None]


@dataclass(frozen=True)
class RoundsGrid:
    """Instances x rounds (a cell is None where that round has no record), and the rounds' statistics."""

    rounds: list[int]
    rows: list[GridRow]
    stats: dict[str, Any]


@dataclass(frozen=True)
class Baseline:
    """`--spider2-baseline`: the instances that flipped, and the exact McNemar p-value of the flips."""

    path: str
    newly_passing: list[str]
    newly_failing: list[str]
    p_value: float

    @property
    def verdict(self) -> str:
        return "more than chance" if self.p_value < 0.05 else "within chance"


@dataclass(frozen=True)
class Page:
    """Everything the page shows, computed from the document; the templates only lay it out."""

    total: int
    finished_at: str
    score_lines: list[tuple[str, str]]
    facts: list[tuple[str, str]]
    bars: list[CategoryBar]
    rows: list[Row]
    sections: list[str]
    rounds: RoundsGrid | None
    baseline: Baseline | None


def render_report(document: dict[str, Any]) -> str:
    """The whole page for a results folder's summary document (see report.store.document)."""
    entries = {(entry["instance_id"], entry.get("round", 1)): entry for entry in document.get("instances", [])}
    strict = document.get("folder", {}).get("verdict") == "strict"
    page = build_page(entries, strict=strict, provenance=document.get("provenance") or {},
                      baseline=document.get("baseline"))
    return template("report.html.j2").render(page=page, script=SCRIPT, csp=CSP, css=PAGE_CSS,
                                             rendered_row=rendered_row)


def build_page(entries: dict[tuple[str, int], dict[str, Any]], *, strict: bool, provenance: dict[str, Any],
               baseline: dict[str, Any] | None) -> Page:
    """The page of the records in `entries` (summary.json's instance entries, by instance id and round)."""
    summary = Summary(tuple(sorted(map(Record.from_dict, entries.values()), key=lambda r: r.key)), strict=strict)
    links = Links.relative_to_folder(summary.records)
    passes = summary.passes_per_instance()
    runs = Counter(r.instance_id for r in summary.records)
    with_section = [r for r in summary.records if needs_section(r, strict)]
    sectioned = {r.key for r in with_section}
    return Page(
        total=summary.total,
        finished_at=max((r.finished_at for r in summary.records), default=""),
        score_lines=score_lines(summary),
        facts=outcome_facts(summary) + time_and_cost(summary) + provenance_facts(provenance),
        bars=category_bars(summary),
        rows=[row_of(r, summary, f"{passes[r.instance_id]}/{runs[r.instance_id]}", r.key in sectioned)
              for r in summary.records],
        sections=[instance_section(entries[r.key], summary.label(r), links) for r in with_section],
        rounds=rounds_grid(summary, sectioned) if summary.rounds > 1 else None,
        baseline=baseline_of(baseline),
    )


def baseline_of(flips: dict[str, Any] | None) -> Baseline | None:
    if not flips:
        return None
    return Baseline(str(flips["path"]), list(flips["newly_passing"]), list(flips["newly_failing"]),
                    float(flips["p_value"]))


def needs_section(record: Record, strict: bool) -> bool:
    """A section below the table for every instance that did not pass (by the deciding verdict)."""
    return not (record.strict_score if strict else record.score)


def row_of(record: Record, summary: Summary, rounds_passed: str, has_section: bool) -> Row:
    label = summary.label(record)
    return Row(
        label=label,
        anchor=anchor(label),
        category=str(record.category),
        group=category_group(record.category),
        score=record.score,
        strict_score=record.strict_score,
        agent_seconds=record.agent_seconds if ran_agent(record) else None,
        cost_usd=record.cost_usd,
        turns=record.turns,
        exit_status=exit_status(record),
        rounds_passed=rounds_passed,
        outcome=record.outcome,
        message=record.message,
        search=search_text(label, record),
        has_section=has_section,
    )


@functools.lru_cache(maxsize=SECTION_CACHE_SIZE)
def rendered_row(row: Row) -> Markup:
    """A row's HTML, rendered once: the table is rendered again after every instance of a sweep."""
    from markupsafe import Markup

    return Markup(template("row.html.j2").render(row=row))


def score_lines(summary: Summary) -> list[tuple[str, str]]:
    """The terminal's score lines: the deciding verdict first, then the other, then both denominators."""
    official = ("official score", fraction(summary.passed, summary.total))
    strict = ("strict (whole rows)", fraction(summary.strict_passed, summary.total))
    passed, filed = summary.evaluate_py
    return [
        *([strict, official] if summary.strict else [official, strict]),
        ("passed / evaluable (gold present)", fraction(summary.passed, summary.evaluable)),
        ("official evaluate.py on the filed results", fraction(passed, filed)),
    ]


def outcome_facts(summary: Summary) -> list[tuple[str, str]]:
    outcomes = summary.to_dict()["outcomes"]
    return [("outcomes", ", ".join(f"{count} {outcome}" for outcome, count in outcomes.items()))] if outcomes else []


def time_and_cost(summary: Summary) -> list[tuple[str, str]]:
    """Agent time and cost, as the terminal states them."""
    ran = summary.ran_agents
    if not ran:
        return []
    facts = [
        ("agent time", f"{duration(summary.agent_seconds)} in all, {duration(summary.agent_seconds / len(ran))} mean"),
        ("slowest", ", ".join(f"{r.instance_id} {duration(r.agent_seconds)}" for r in summary.slowest())),
    ]
    costs = summary.costs
    if costs:
        turns = sum(r.turns or 0 for r in summary.records)
        facts.append(("agent cost", f"${sum(costs):.2f} over {len(costs)} runs (${sum(costs) / len(costs):.2f} "
                                    f"mean), {turns} turns"))
    return facts


def provenance_facts(provenance: dict[str, Any]) -> list[tuple[str, str]]:
    """What produced the latest run, in the order a reader checks it; absent facts are left out."""
    facts = [(label, str(provenance[key])) for key, label in PROVENANCE_SHOWN if provenance.get(key)]
    versions = provenance.get("versions")
    if isinstance(versions, dict):
        facts.append(("versions", ", ".join(f"{name} {versions[name]}" for name in VERSIONS_SHOWN if name in versions)))
    command = provenance.get("command_line")
    if isinstance(command, list):
        facts.append(("command line", " ".join(["pytest", *map(str, command)])))
    return facts


def category_bars(summary: Summary) -> list[CategoryBar]:
    return [
        CategoryBar(str(category), category_group(category), len(ids), len(ids) / max(1, summary.total),
                    category.description)
        for category, ids in summary.categories.items()
    ]


def rounds_grid(summary: Summary, sectioned: set[tuple[str, int]]) -> RoundsGrid:
    rounds = list(range(1, summary.rounds + 1))
    by_key = {r.key: r for r in summary.records}
    rows = []
    for instance_id, passes in summary.passes_per_instance().items():
        cells = [grid_cell(summary, by_key.get((instance_id, number)), sectioned) for number in rounds]
        rows.append(GridRow(instance_id, f"{passes}/{sum(cell is not None for cell in cells)}", cells))
    return RoundsGrid(rounds, rows, summary.rounds_dict())


def grid_cell(summary: Summary, record: Record | None, sectioned: set[tuple[str, int]]) -> GridCell | None:
    if record is None:
        return None
    target = "#" + anchor(summary.label(record)) if record.key in sectioned else ""
    return GridCell("pass" if record.score else "fail", str(record.category), target)


