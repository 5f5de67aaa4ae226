"""What the terminal shows: progress while a sweep runs and the summary at its end (text only, no data)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ..categories import Category
from .records import Record
from .summary import OUTCOMES, Summary, fraction

IDS_SHOWN = 12


def duration(seconds: float) -> str:
    """`42 s`, `3m 05s`, `2h 10m`."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def progress_line(
    finished: Record, done: int, total: int, running: Mapping[str, float], eta_seconds: float | None
) -> str:
    """`[12/68] lemonade001 failed (table_missing, agent 24 s) · running: a 3m 05s, b 41 s · ETA 40m 12s`."""
    verdict = finished.outcome or ("passed" if finished.category is Category.PASSED else "failed")
    if finished.category not in (Category.PASSED, Category.SKIPPED):
        agent = f", agent {duration(finished.agent_seconds)}" if finished.agent else ""
        verdict += f" ({finished.category}{agent})"
    line = f"[{done}/{total}] {finished.instance_id}{round_suffix(finished)} {verdict}"
    if running:
        line += " · running: " + ", ".join(f"{name} {duration(age)}" for name, age in list(running.items())[:4])
        if len(running) > 4:
            line += f" +{len(running) - 4} more"
    if eta_seconds is not None and done < total:
        line += f" · ETA {duration(eta_seconds)}"
    return line


def status_line(done: int, total: int, started: Mapping[str, datetime], finish_at: datetime | None) -> str:
    """`spider2-dbt 12/68 done · running: a since 14:02:11, b since 14:10:05 · done by about 15:40`: the live
    line at the bottom of a terminal. It names clock times, not ages, so that it stays true while it stands."""
    line = f"spider2-dbt {done}/{total} done"
    if started:
        names = [f"{name} since {at:%H:%M:%S}" for name, at in list(started.items())[:4]]
        line += " · running: " + ", ".join(names) + (f" +{len(started) - 4} more" if len(started) > 4 else "")
    if finish_at is not None and done < total:
        line += f" · done by about {finish_at:%H:%M}"
    return line


def round_suffix(record: Record) -> str:
    return f" (round {record.round})" if record.round > 1 else ""


def eta(durations: list[float], remaining: int, workers: int) -> float | None:
    """Time left if the remaining instances take as long as the finished ones, `workers` at a time."""
    if not durations or remaining <= 0:
        return None
    return sum(durations) / len(durations) * remaining / max(1, workers)


def score_lines(summary: Summary, title: str) -> list[str]:
    """The headline score and its denominators; the deciding verdict first."""
    if summary.strict:
        lines = [f"{title} (strict, whole rows): {fraction(summary.strict_passed, summary.total)}",
                 f"  official: {fraction(summary.passed, summary.total)}"]
    else:
        lines = [f"{title}: {fraction(summary.passed, summary.total)}",
                 f"  strict (whole rows): {fraction(summary.strict_passed, summary.total)}"]
    lines.append(f"  passed / evaluable (gold present): {fraction(summary.passed, summary.evaluable)}")
    return lines


def summary_lines(summary: Summary, title: str = "Spider2-DBT score") -> list[str]:
    lines = score_lines(summary, title)
    outcomes = ", ".join(f"{summary.outcomes[o]} {o}" for o in OUTCOMES if summary.outcomes[o])
    if outcomes:
        lines.append(f"  outcomes: {outcomes}")
    lines += rounds_lines(summary) + time_and_cost_lines(summary)
    for category, ids in summary.categories.items():
        shown = ", ".join(ids[:IDS_SHOWN]) + (f", ... (+{len(ids) - IDS_SHOWN})" if len(ids) > IDS_SHOWN else "")
        lines.append(f"  {category:<20} {len(ids):>3}  {shown}")
    return lines


def folder_lines(summary: Summary, folder: str, same_as_run: bool) -> list[str]:
    """The results folder's own score (every instance it holds), as evaluate.py scores it."""
    passed, filed = summary.evaluate_py
    evaluate = f"official evaluate.py on it: {fraction(passed, filed)} of the filed results"
    if same_as_run:
        return [f"  results folder {folder}: holds exactly this run; {evaluate}"]
    return [
        f"Results folder {folder} ({summary.total} instances, latest record of each):",
        *("  " + line.strip() for line in score_lines(summary, "score")),
        f"  {evaluate}",
    ]


def time_and_cost_lines(summary: Summary) -> list[str]:
    ran = summary.ran_agents
    if not ran:
        return []
    lines = [f"  agent time: {duration(summary.agent_seconds)} in all, {duration(summary.agent_seconds / len(ran))} "
             "mean; slowest: " + ", ".join(f"{r.instance_id} {duration(r.agent_seconds)}" for r in summary.slowest())]
    costs = summary.costs
    if costs:
        turns = sum(r.turns or 0 for r in summary.records)
        lines.append(f"  agent cost: ${sum(costs):.2f} over {len(costs)} runs (${sum(costs) / len(costs):.2f} mean), "
                     f"{turns} turns")
    return lines


def rounds_lines(summary: Summary) -> list[str]:
    if summary.rounds < 2:
        return []
    stats = summary.rounds_dict()
    low, high = stats["wilson_95"]
    lines = [
        f"  rounds: {summary.rounds}; mean score {100 * stats['mean']:.1f}% ± {100 * stats['standard_error']:.1f}% "
        f"(standard error over rounds); 95% interval (Wilson) {100 * low:.1f}%–{100 * high:.1f}%",
        "  pass@k: " + ", ".join(f"pass@{k} {100 * v:.1f}%" for k, v in summary.pass_at().items()),
    ]
    for kind, ids in stats["stability"].items():
        if ids:
            lines.append(f"  {kind} passing: {len(ids)}  {', '.join(ids[:IDS_SHOWN])}")
    return lines


def baseline_lines(newly_passing: list[str], newly_failing: list[str], p_value: float, baseline: str) -> list[str]:
    verdict = "more than chance" if p_value < 0.05 else "within chance"
    return [
        f"Compared with {baseline}: {len(newly_passing)} newly passing, {len(newly_failing)} newly failing "
        f"(exact McNemar p = {p_value:.3g}: {verdict})",
        *([f"  newly passing: {', '.join(newly_passing)}"] if newly_passing else []),
        *([f"  newly failing: {', '.join(newly_failing)}"] if newly_failing else []),
    ]

