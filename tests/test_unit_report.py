"""Unit tests of the report stage: records, statistics, summary numbers, terminal text, failure text, summary.json."""

from __future__ import annotations

import itertools
import json
import math
import os
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_spider2dbt.agents import AgentOutcome, AgentUsage
from pytest_spider2dbt.categories import Category
from pytest_spider2dbt.collect import ResultsFolder
from pytest_spider2dbt.report import terminal
from pytest_spider2dbt.report.compare import BaselineError, compare, passes_by_instance, read_baseline
from pytest_spider2dbt.report.failure import (
    HEADLINE_WIDTH,
    MAX_FAILURE_BYTES,
    cap,
    failure_text,
    headline,
)
from pytest_spider2dbt.report.logs import LogTail, log_tails
from pytest_spider2dbt.report.records import Record, categorize
from pytest_spider2dbt.report.stats import mcnemar_exact, mean_and_standard_error, pass_at_k, wilson_interval
from pytest_spider2dbt.report.store import SUMMARY, add_record, document, html_name, read_records, write_summary
from pytest_spider2dbt.report.summary import Summary, fraction, percent, ratio


def record(instance_id: str, score: int = 0, round: int = 1, **fields: Any) -> Record:
    """A record whose category follows its score unless one is given."""
    fields.setdefault("category", Category.PASSED if score else Category.VALUE_MISMATCH)
    return Record(instance_id, score=score, round=round, **fields)


def outcome(**fields: Any) -> AgentOutcome:
    values: dict[str, Any] = {"agent": "cmd:x", "exit_status": 0, "timed_out": False, "seconds": 12.0,
                              "limit_seconds": 60.0}
    values.update(fields)
    return AgentOutcome(**values)


@pytest.fixture
def folder(tmp_path: Path):
    opened = ResultsFolder(tmp_path / "out")
    yield opened
    opened.close()


# ------------------------------------------------------------------------------------------------ records


def full_record() -> Record:
    return Record(
        "shop001", Category.ROW_COUNT_MISMATCH, score=0, strict_score=0, round=2, outcome="failed", message="why",
        agent="cmd:x", agent_exit=3, timed_out=True, agent_seconds=1.5, judge_seconds=0.25, cost_usd=0.5, turns=7,
        input_tokens=100, output_tokens=50, model="sonnet", isolation="bwrap", clock="2024-01-01", evaluable=True,
        in_submission=True, result_file="shop001/shop.duckdb", result_sha256="ab" * 32, tampered=None,
        log_dir="/logs/shop001", report={"tables": [{"name": "orders"}]}, hygiene={"start": "ok"},
        finished_at="2025-01-01T00:00:00+00:00",
    )


def test_a_record_survives_to_dict_and_from_dict_unchanged():
    original = full_record()
    assert Record.from_dict(original.to_dict()) == original


def test_a_record_survives_a_json_round_trip():
    original = full_record()
    assert Record.from_dict(json.loads(json.dumps(original.to_dict()))) == original


def test_to_dict_states_the_category_as_its_plain_value():
    data = full_record().to_dict()
    assert data["category"] == "row_count_mismatch"
    assert type(data["category"]) is str


def test_from_dict_ignores_unknown_keys_and_defaults_a_missing_category_to_harness_error():
    loaded = Record.from_dict({"instance_id": "a001", "score": 1, "from_a_newer_version": True})
    assert loaded.instance_id == "a001"
    assert loaded.score == 1
    assert loaded.category is Category.HARNESS_ERROR


def test_from_dict_refuses_an_unknown_category():
    with pytest.raises(ValueError):
        Record.from_dict({"instance_id": "a001", "category": "nonsense"})


def test_the_key_of_a_record_is_its_instance_and_round():
    assert record("a001", round=3).key == ("a001", 3)


def test_junit_properties_always_state_the_verdict_and_the_agent():
    properties = dict(record("a001", score=1, strict_score=1, agent_seconds=12.34, agent_exit=None).junit_properties())
    assert properties == {
        "instance_id": "a001",
        "score": 1,
        "strict_score": 1,
        "category": "passed",
        "agent_seconds": "12.3",
        "agent_exit": "",
        "timed_out": "false",
        "isolation": "",
        "clock": "off",
    }


def test_junit_properties_add_usage_and_checksum_only_when_known():
    properties = dict(full_record().junit_properties())
    assert properties["agent_exit"] == 3
    assert properties["timed_out"] == "true"
    assert {name: properties[name] for name in ("cost_usd", "turns", "input_tokens", "output_tokens", "model")} == {
        "cost_usd": 0.5, "turns": 7, "input_tokens": 100, "output_tokens": 50, "model": "sonnet"}
    assert properties["result_sha256"] == "ab" * 32
    assert "turns" not in dict(record("a001").junit_properties())


def test_with_agent_copies_the_facts_of_the_run_into_the_record():
    usage = AgentUsage(cost_usd=0.25, turns=4, input_tokens=10, output_tokens=20, model="opus")
    run = outcome(exit_status=2, timed_out=True, seconds=3.14159, usage=usage, log_dir=Path("/logs/a001"))
    filled = record("a001").with_agent(run)
    assert (filled.agent, filled.agent_exit, filled.timed_out, filled.agent_seconds) == ("cmd:x", 2, True, 3.142)
    assert filled.log_dir == "/logs/a001"
    assert (filled.cost_usd, filled.turns, filled.input_tokens, filled.output_tokens, filled.model) == (
        0.25, 4, 10, 20, "opus")


def test_with_no_agent_outcome_the_record_is_unchanged():
    before = record("a001")
    assert before.with_agent(None) == record("a001", finished_at=before.finished_at)


@pytest.mark.parametrize("judged", [Category.NO_RESULT_DB, Category.TABLE_MISSING, Category.ROW_COUNT_MISMATCH,
                                    Category.VALUE_MISMATCH])
def test_a_timed_out_agent_explains_a_failing_result(judged: Category):
    assert categorize(judged, outcome(timed_out=True), strict=False, strict_score=0) is Category.AGENT_TIMEOUT


@pytest.mark.parametrize("run", [outcome(exit_status=1), outcome(exit_status=None, started=False, error="no such"),
                                 outcome(error="crashed")], ids=["non-zero", "not-started", "error"])
def test_a_failed_agent_explains_a_failing_result(run: AgentOutcome):
    assert categorize(Category.TABLE_MISSING, run, strict=False, strict_score=0) is Category.AGENT_ERROR


def test_a_successful_agent_leaves_the_judges_category():
    assert categorize(Category.VALUE_MISMATCH, outcome(), strict=False, strict_score=0) is Category.VALUE_MISMATCH
    assert categorize(Category.VALUE_MISMATCH, None, strict=False, strict_score=0) is Category.VALUE_MISMATCH


@pytest.mark.parametrize("judged", [Category.GOLD_MISSING, Category.CONFIG_ERROR, Category.RESULT_REFUSED,
                                    Category.JUDGE_TIMEOUT, Category.JUDGE_OUT_OF_MEMORY])
def test_a_failing_agent_does_not_hide_what_the_agent_cannot_explain(judged: Category):
    assert categorize(judged, outcome(timed_out=True), strict=False, strict_score=0) is judged


def test_a_pass_stays_a_pass_whatever_the_agent_did():
    assert categorize(Category.PASSED, outcome(exit_status=1), strict=False, strict_score=0) is Category.PASSED


def test_under_strict_a_pass_whose_rows_differ_is_a_strict_mismatch():
    assert categorize(Category.PASSED, None, strict=True, strict_score=0) is Category.STRICT_MISMATCH
    assert categorize(Category.PASSED, None, strict=True, strict_score=1) is Category.PASSED
    assert categorize(Category.PASSED, None, strict=False, strict_score=0) is Category.PASSED


def test_under_strict_a_timed_out_agent_explains_a_strict_mismatch():
    assert categorize(Category.PASSED, outcome(timed_out=True), strict=True, strict_score=0) is Category.AGENT_TIMEOUT


# -------------------------------------------------------------------------------------------------- stats


def test_mean_and_standard_error_by_hand():
    mean, error = mean_and_standard_error([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert error == pytest.approx(math.sqrt((1.5**2 * 2 + 0.5**2 * 2) / 3 / 4))


def test_mean_and_standard_error_of_no_value_and_of_one_value():
    assert mean_and_standard_error([]) == (0.0, 0.0)
    assert mean_and_standard_error([0.75]) == (0.75, 0.0)


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3 (Wilson).
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_interval_matches_the_published_reference(successes: int, trials: int, low: float, high: float):
    assert wilson_interval(successes, trials) == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_stays_within_zero_and_one_and_holds_the_rate():
    for trials in range(1, 30):
        for successes in range(trials + 1):
            low, high = wilson_interval(successes, trials)
            assert 0.0 <= low <= successes / trials + 1e-12
            assert successes / trials - 1e-12 <= high <= 1.0


def test_wilson_interval_of_no_trials_is_everything():
    assert wilson_interval(0, 0) == (0.0, 1.0)


def pass_at_k_by_enumeration(n: int, c: int, k: int) -> float:
    """The share of k-subsets of n samples (c of them passing) that hold at least one pass."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(samples, k))
    return sum(any(subset) for subset in subsets) / len(subsets)


def test_pass_at_k_is_the_share_of_k_subsets_with_a_pass():
    for n in range(1, 7):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert pass_at_k(n, c, k) == pytest.approx(pass_at_k_by_enumeration(n, c, k)), (n, c, k)


def test_pass_at_k_needs_at_least_k_samples():
    with pytest.raises(ValueError, match="pass@3"):
        pass_at_k(2, 1, 3)


@pytest.mark.parametrize(
    ("newly_passing", "newly_failing", "p_value"),
    [
        (1, 9, 0.021484375),  # 2 * (C(10,0) + C(10,1)) / 2**10
        (9, 1, 0.021484375),
        (0, 6, 0.03125),  # 2 / 2**6
        (2, 8, 0.109375),  # 2 * (1 + 10 + 45) / 2**10
        (5, 5, 1.0),
        (0, 0, 1.0),
        (0, 1, 1.0),
    ],
)
def test_exact_mcnemar_by_hand(newly_passing: int, newly_failing: int, p_value: float):
    assert mcnemar_exact(newly_passing, newly_failing) == pytest.approx(p_value)


def test_exact_mcnemar_of_one_against_nine_is_about_two_percent():
    assert round(mcnemar_exact(1, 9), 4) == 0.0215


# ------------------------------------------------------------------------------------------------ summary


def test_summary_counts_passes_and_denominators():
    summary = Summary((
        record("a001", 1, strict_score=1, evaluable=True),
        record("b001", 1, strict_score=0, evaluable=True),
        record("c001", 0, evaluable=True),
        record("d001", 0, category=Category.GOLD_MISSING),
    ))
    assert (summary.total, summary.passed, summary.strict_passed, summary.evaluable) == (4, 2, 1, 3)
    assert summary.deciding_passed == 2
    assert Summary(summary.records, strict=True).deciding_passed == 1


def test_evaluate_py_scores_only_the_filed_results():
    summary = Summary((
        record("a001", 1, result_file="a001/a.duckdb"),
        record("b001", 0, result_file="b001/b.duckdb"),
        record("c001", 0, category=Category.NO_RESULT_DB),
        record("d001", 0, category=Category.RESULT_REFUSED),
    ))
    assert summary.evaluate_py == (1, 2)


def test_evaluate_py_uses_the_official_verdict_even_under_strict():
    summary = Summary((record("a001", 1, strict_score=0, result_file="a001/a.duckdb"),), strict=True)
    assert summary.evaluate_py == (1, 1)


def test_categories_follow_the_category_order_and_list_their_ids_sorted():
    summary = Summary((
        record("z001", 0, category=Category.VALUE_MISMATCH),
        record("b001", 1),
        record("a001", 0, category=Category.VALUE_MISMATCH),
        record("c001", 0, category=Category.AGENT_TIMEOUT),
    ))
    assert list(summary.categories.items()) == [
        (Category.PASSED, ["b001"]),
        (Category.AGENT_TIMEOUT, ["c001"]),
        (Category.VALUE_MISMATCH, ["a001", "z001"]),
    ]


def test_with_rounds_the_category_ids_carry_their_round():
    summary = Summary((record("a001", 1, round=1), record("a001", 0, round=2)))
    assert summary.categories == {Category.PASSED: ["a001#1"], Category.VALUE_MISMATCH: ["a001#2"]}


def three_rounds() -> Summary:
    """a001 passes every round, b001 the first only, c001 never."""
    scores = {"a001": (1, 1, 1), "b001": (1, 0, 0), "c001": (0, 0, 0)}
    return Summary(tuple(record(i, s, round=r) for i, row in scores.items() for r, s in enumerate(row, start=1)))


def test_rounds_statistics_by_hand():
    summary = three_rounds()
    assert summary.rounds == 3
    assert summary.per_round_scores() == pytest.approx([2 / 3, 1 / 3, 1 / 3])
    assert summary.passes_per_instance() == {"a001": 3, "b001": 1, "c001": 0}
    assert summary.pass_at() == pytest.approx({1: 4 / 9, 2: (1 + 2 / 3) / 3, 3: 2 / 3})
    assert summary.stability() == {"always": ["a001"], "sometimes": ["b001"], "never": ["c001"]}
    stats = summary.rounds_dict()
    assert stats["mean"] == pytest.approx(4 / 9)
    assert stats["standard_error"] == pytest.approx(1 / 9)
    assert stats["wilson_95"] == pytest.approx(list(wilson_interval(4, 9)))
    assert stats["pass_at_k"] == pytest.approx({"1": 4 / 9, "2": 5 / 9, "3": 2 / 3})


def test_pass_at_k_never_falls_as_k_grows_when_an_instance_missed_a_round():
    summary = Summary((record("a001", 1, round=1), record("a001", 1, round=2), record("b001", 1, round=1)))
    pass_at = summary.pass_at()
    assert pass_at[2] >= pass_at[1]


def test_summary_to_dict_states_the_numbers_and_omits_rounds_for_one_round():
    summary = Summary((
        record("a001", 1, strict_score=1, evaluable=True, outcome="passed", agent="dbt", agent_seconds=2.5,
               cost_usd=0.1, result_file="a001/a.duckdb"),
        record("b001", 0, outcome="failed", agent="dbt", agent_seconds=1.25, cost_usd=0.2, evaluable=True),
        record("c001", 0, category=Category.GOLD_MISSING, outcome="xfailed"),
    ))
    data = summary.to_dict()
    assert data["verdict"] == "official"
    assert (data["passed"], data["total"], data["evaluable"], data["strict_passed"]) == (1, 3, 2, 1)
    assert data["score"] == pytest.approx(1 / 3)
    assert data["score_evaluable"] == pytest.approx(1 / 2)
    assert data["evaluate_py"] == {"passed": 1, "total": 1, "score": 1.0}
    assert data["categories"] == {"passed": 1, "value_mismatch": 1, "gold_missing": 1}
    assert data["instances_by_category"] == {"passed": ["a001"], "value_mismatch": ["b001"], "gold_missing": ["c001"]}
    assert data["outcomes"] == {"passed": 1, "failed": 1, "xfailed": 1}
    assert data["agent_seconds"] == 3.75
    assert data["cost_usd"] == pytest.approx(0.3)
    assert "rounds" not in data
    json.dumps(data)


def test_summary_to_dict_has_rounds_when_there_are_several():
    data = three_rounds().to_dict()
    assert data["rounds"]["count"] == 3
    json.dumps(data)


def test_an_empty_summary_scores_zero_without_dividing_by_zero():
    data = Summary(()).to_dict()
    assert (data["score"], data["score_evaluable"], data["evaluate_py"]["score"]) == (0.0, 0.0, 0.0)


def test_the_slowest_agents_exclude_reused_results():
    summary = Summary((
        record("a001", agent="dbt", agent_seconds=5.0),
        record("b001", agent="reused", agent_seconds=99.0),
        record("c001", agent="dbt", agent_seconds=9.0),
        record("d001", agent="", agent_seconds=50.0),
    ))
    assert [r.instance_id for r in summary.slowest()] == ["c001", "a001"]


def test_ratio_percent_and_fraction():
    assert ratio(1, 0) == 0.0
    assert percent(1, 3) == "33.3%"
    assert fraction(2, 3) == "2/3 (66.7%)"


# ----------------------------------------------------------------------------------------------- terminal


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0.0 s"), (-5, "0.0 s"), (9.44, "9.4 s"), (42, "42 s"), (185, "3m 05s"), (3599, "59m 59s"),
     (7800, "2h 10m"), (3600, "1h 00m")],
)
def test_duration(seconds: float, text: str):
    assert terminal.duration(seconds) == text


def test_eta_spreads_the_remaining_work_over_the_workers():
    assert terminal.eta([10.0, 20.0], remaining=4, workers=2) == 30.0
    assert terminal.eta([10.0], remaining=2, workers=0) == 20.0
    assert terminal.eta([], remaining=4, workers=2) is None
    assert terminal.eta([10.0], remaining=0, workers=2) is None


def test_progress_line_of_a_pass():
    assert terminal.progress_line(record("a001", 1), 1, 3, {}, None) == "[1/3] a001 passed"


def test_progress_line_of_a_failure_names_the_category_and_the_agent_time():
    finished = record("a001", category=Category.TABLE_MISSING, agent="dbt", agent_seconds=24)
    line = terminal.progress_line(finished, 2, 3, {}, 600)
    assert line == "[2/3] a001 failed (table_missing, agent 24 s) · ETA 10m 00s"
    no_agent = record("a001", category=Category.NO_RESULT_DB, round=2)
    assert terminal.progress_line(no_agent, 2, 3, {}, None) == "[2/3] a001 (round 2) failed (no_result_db)"


def test_progress_line_of_a_skipped_instance_does_not_call_it_failed():
    skipped = record("a001", category=Category.SKIPPED, outcome="skipped", message="known issue")
    assert "failed" not in terminal.progress_line(skipped, 1, 3, {}, None)


def test_progress_line_shows_at_most_four_running_instances():
    running = {f"r{i}": 41.0 for i in range(6)}
    line = terminal.progress_line(record("a001", 1), 1, 10, running, None)
    assert "running: r0 41 s, r1 41 s, r2 41 s, r3 41 s +2 more" in line
    assert "r4" not in line


def test_progress_line_has_no_eta_once_everything_is_done():
    assert "ETA" not in terminal.progress_line(record("a001", 1), 3, 3, {}, 100.0)


def test_status_line_names_when_each_running_instance_started_and_when_the_sweep_should_end():
    started = {f"r{i}": datetime(2026, 11, 26, 14, 2, i) for i in range(6)}
    line = terminal.status_line(12, 68, started, datetime(2026, 11, 26, 15, 40))
    assert line == ("spider2-dbt 12/68 done · running: r0 since 14:02:00, r1 since 14:02:01, r2 since 14:02:02, "
                    "r3 since 14:02:03 +2 more · done by about 15:40")


def test_status_line_without_running_instances_or_an_estimate():
    assert terminal.status_line(0, 3, {}, None) == "spider2-dbt 0/3 done"


def test_summary_lines_start_with_the_score_and_both_denominators():
    summary = Summary((record("a001", 1, strict_score=1, evaluable=True), record("b001", 0, evaluable=False)))
    lines = terminal.summary_lines(summary)
    assert lines[:3] == [
        "Spider2-DBT score: 1/2 (50.0%)",
        "  strict (whole rows): 1/2 (50.0%)",
        "  passed / evaluable (gold present): 1/1 (100.0%)",
    ]


def test_summary_lines_under_strict_put_the_strict_score_first():
    summary = Summary((record("a001", 1, strict_score=0, evaluable=True),), strict=True)
    lines = terminal.summary_lines(summary)
    assert lines[:2] == ["Spider2-DBT score (strict, whole rows): 0/1 (0.0%)", "  official: 1/1 (100.0%)"]


def test_summary_lines_cap_the_ids_of_a_category():
    summary = Summary(tuple(record(f"i{n:03d}", category=Category.TABLE_MISSING) for n in range(15)))
    line = next(line for line in terminal.summary_lines(summary) if "table_missing" in line)
    assert line.split() [:2] == ["table_missing", "15"]
    assert "i011" in line and "i012" not in line
    assert line.endswith(", ... (+3)")


def test_summary_lines_state_outcomes_time_and_cost():
    summary = Summary((
        record("a001", 1, outcome="passed", agent="dbt", agent_seconds=30, cost_usd=0.5, turns=3),
        record("b001", 0, outcome="failed", agent="dbt", agent_seconds=90, cost_usd=1.5, turns=5),
    ))
    lines = terminal.summary_lines(summary)
    assert "  outcomes: 1 passed, 1 failed" in lines
    assert "  agent time: 2m 00s in all, 1m 00s mean; slowest: b001 1m 30s, a001 30 s" in lines
    assert "  agent cost: $2.00 over 2 runs ($1.00 mean), 8 turns" in lines


def test_summary_lines_have_no_agent_lines_when_no_agent_ran():
    lines = terminal.summary_lines(Summary((record("a001", agent="reused"),)))
    assert not any("agent time" in line or "agent cost" in line for line in lines)


def test_summary_lines_state_the_rounds():
    lines = terminal.summary_lines(three_rounds())
    rounds = next(line for line in lines if line.startswith("  rounds:"))
    assert rounds.startswith("  rounds: 3; mean score 44.4% ± 11.1% (standard error over rounds)")
    assert "  pass@k: pass@1 44.4%, pass@2 55.6%, pass@3 66.7%" in lines
    assert "  always passing: 1  a001" in lines
    assert "  sometimes passing: 1  b001" in lines
    assert "  never passing: 1  c001" in lines


def test_folder_lines_of_a_folder_that_holds_exactly_this_run():
    summary = Summary((record("a001", 1, result_file="a001/a.duckdb"), record("b001", 0)))
    assert terminal.folder_lines(summary, "out", same_as_run=True) == [
        "  results folder out: holds exactly this run; official evaluate.py on it: 1/1 (100.0%) of the filed results"
    ]


def test_folder_lines_of_a_folder_with_more_than_this_run():
    summary = Summary((record("a001", 1, result_file="a001/a.duckdb", evaluable=True),
                       record("b001", 0, result_file="b001/b.duckdb", evaluable=True)))
    assert terminal.folder_lines(summary, "out", same_as_run=False) == [
        "Results folder out (2 instances, latest record of each):",
        "  score: 1/2 (50.0%)",
        "  strict (whole rows): 0/2 (0.0%)",
        "  passed / evaluable (gold present): 1/2 (50.0%)",
        "  official evaluate.py on it: 1/2 (50.0%) of the filed results",
    ]


def test_baseline_lines_name_the_flips_and_the_test():
    assert terminal.baseline_lines(["a001"], ["b001", "c001"], 0.021484375, "base.json") == [
        "Compared with base.json: 1 newly passing, 2 newly failing (exact McNemar p = 0.0215: more than chance)",
        "  newly passing: a001",
        "  newly failing: b001, c001",
    ]


def test_baseline_lines_without_flips_are_one_line_within_chance():
    assert terminal.baseline_lines([], [], 1.0, "base") == [
        "Compared with base: 0 newly passing, 0 newly failing (exact McNemar p = 1: within chance)"
    ]


# ------------------------------------------------------------------------------------------------ compare


def test_an_instance_passes_a_baseline_when_it_passed_in_more_than_half_its_rounds():
    records = [record("a001", s, round=r) for r, s in enumerate((1, 1, 0), start=1)]
    records += [record("b001", s, round=r) for r, s in enumerate((1, 0), start=1)]
    records += [record("c001", 1)]
    assert passes_by_instance(records) == {"a001": True, "b001": False, "c001": True}


def write_baseline(path: Path, records: list[Record]) -> None:
    path.write_text(json.dumps({"instances": [r.to_dict() for r in records]}))


def test_read_baseline_from_a_summary_file_or_its_folder(tmp_path: Path):
    write_baseline(tmp_path / SUMMARY, [record("a001", 1), record("b001", 0)])
    assert read_baseline(tmp_path / SUMMARY) == {"a001": True, "b001": False}
    assert read_baseline(tmp_path) == {"a001": True, "b001": False}


@pytest.mark.parametrize("text", ["not json", "[]", '{"other": 1}', '{"instances": [{"score": 1}]}'])
def test_an_unreadable_baseline_is_a_baseline_error_naming_the_file(tmp_path: Path, text: str):
    (tmp_path / "base.json").write_text(text)
    with pytest.raises(BaselineError, match="base.json"):
        read_baseline(tmp_path / "base.json")


def test_a_missing_baseline_is_a_baseline_error(tmp_path: Path):
    with pytest.raises(BaselineError, match="summary.json"):
        read_baseline(tmp_path)


def test_a_baseline_entry_that_is_not_an_object_is_a_baseline_error(tmp_path: Path):
    (tmp_path / "base.json").write_text('{"instances": [5]}')
    with pytest.raises(BaselineError):
        read_baseline(tmp_path / "base.json")


def test_compare_pairs_only_the_instances_of_both_runs():
    current = {"a001": True, "b001": False, "c001": True, "d001": True, "new001": True}
    baseline = {"a001": False, "b001": True, "c001": True, "d001": False, "gone001": False}
    result = compare(current, baseline)
    assert result.newly_passing == ["a001", "d001"]
    assert result.newly_failing == ["b001"]
    assert result.paired == 4
    assert result.p_value == pytest.approx(mcnemar_exact(2, 1))


# ------------------------------------------------------------------------------------------------ failure


def test_the_headline_is_the_id_the_category_and_why_on_one_line():
    failing = record("a001", category=Category.VALUE_MISMATCH, message="orders.amount:\n  differs\tat row 3")
    assert headline(failing, None) == "a001: value_mismatch — orders.amount: differs at row 3"


def test_the_headline_of_an_agent_failure_says_what_the_agent_did_first():
    failing = record("a001", category=Category.AGENT_ERROR, message="no result database")
    run = outcome(exit_status=2, seconds=3.0)
    assert headline(failing, run) == f"a001: agent_error — {run.describe()}; no result database"
    assert headline(record("a001", category=Category.AGENT_ERROR), run) == f"a001: agent_error — {run.describe()}"


def test_the_headline_is_capped():
    failing = record("a001", category=Category.VALUE_MISMATCH, message="word " * 500)
    line = headline(failing, None)
    assert len(line) == HEADLINE_WIDTH
    assert line.endswith("...")


def test_the_failure_text_starts_with_the_headline_then_the_agent_the_hints_and_the_report():
    failing = record("a001", category=Category.TABLE_MISSING, message="orders\nis missing")
    run = outcome()
    tail = LogTail(Path("/logs/agent.stderr"), ["Traceback", "boom"], 20, 0, 0)
    text = failure_text(failing, run, "table orders: missing", hints=["write models/orders.sql"], tails=[tail])
    assert text.splitlines() == [
        "a001: table_missing — orders is missing",
        run.describe(),
        "hint: write models/orders.sql",
        "table orders: missing",
        "--- last 2 line(s) of /logs/agent.stderr ---",
        "Traceback",
        "boom",
    ]


def test_an_agent_failure_is_not_described_twice():
    failing = record("a001", category=Category.AGENT_TIMEOUT)
    run = outcome(timed_out=True)
    assert failure_text(failing, run, "").count(run.describe()) == 1


def test_the_first_line_of_a_huge_failure_is_still_the_capped_headline():
    failing = record("a001", category=Category.AGENT_ERROR, message="x\n" * 100_000)
    run = outcome(exit_status=None, started=False, error="line one\nline two " * 1000)
    first = failure_text(failing, run, "body\n" * 100_000).splitlines()[0]
    assert first.startswith("a001: agent_error — agent cmd:x did not start: line one line two")
    assert len(first) <= HEADLINE_WIDTH


def test_a_cut_failure_text_says_how_much_was_cut():
    text = cap("é" * 20_000)  # 40,000 bytes of two-byte characters
    assert text.startswith("é" * 100)
    assert text.endswith("[... 40,000 bytes in all; the rest of this report was cut]")
    assert len(text.encode()) <= MAX_FAILURE_BYTES


def test_log_tails_of_a_log_folder_holding_a_fifo_do_not_wait(tmp_path: Path):
    (tmp_path / "agent.stderr").write_text("boom\n")
    os.mkfifo(tmp_path / "zz.fifo")
    found: list[list[LogTail] | Exception] = []

    def read() -> None:
        try:
            found.append(log_tails(tmp_path))
        except Exception as error:  # once released, the FIFO cannot even be seeked
            found.append(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(0.5)
    hung = reader.is_alive()
    if hung:  # release the reader: a writer opens and closes the FIFO
        os.close(os.open(tmp_path / "zz.fifo", os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5.0)
    assert not hung
    assert not isinstance(found[0], Exception)
    assert [tail.lines for tail in found[0]] == [["boom"]]


def test_a_short_failure_text_is_not_cut():
    assert cap("short") == "short"


@pytest.mark.parametrize("body", ["x" * 100_000, "é" * 50_000, "line\n" * 30_000])
def test_the_whole_failure_text_stays_within_20_kb_whatever_the_inputs(body: str):
    failing = record("a001", category=Category.AGENT_ERROR, message=body)
    tails = [LogTail(Path(f"/logs/{n}"), [body[:300]] * 20, 10**9, 10**9, 0) for n in range(5)]
    text = failure_text(failing, outcome(exit_status=1, error=body), body, hints=[body], tails=tails)
    assert len(text.encode("utf-8")) <= 20 * 1024


# -------------------------------------------------------------------------------------------------- store


def test_document_holds_the_folder_numbers_the_provenance_and_the_sorted_records():
    records = [record("b001", 0), record("a001", 1, round=2), record("a001", 0, round=1)]
    data = document(records, strict=False, provenance={"agent": "dbt"})
    assert data["schema"] == 1
    assert data["provenance"] == {"agent": "dbt"}
    assert [(entry["instance_id"], entry["round"]) for entry in data["instances"]] == [
        ("a001", 1), ("a001", 2), ("b001", 1)]
    assert data["folder"] == Summary(tuple(sorted(records, key=lambda r: r.key))).to_dict()


def make_document(provenance: dict) -> Callable[[list[Record]], dict]:
    return lambda records: document(records, strict=False, provenance=provenance)


def test_add_record_keeps_the_latest_record_of_each_instance(folder: ResultsFolder):
    add_record(folder, record("a001", 0), make_document({}))
    add_record(folder, record("b001", 1), make_document({}))
    latest = record("a001", 1, message="again")
    data = add_record(folder, latest, make_document({"run": 2}))
    assert data["folder"]["passed"] == 2
    stored = read_records(folder)
    assert sorted(stored) == ["a001", "b001"]
    assert stored["a001"] == latest
    on_disk = json.loads((folder.path / SUMMARY).read_text())
    assert on_disk == json.loads(json.dumps(data))


def test_add_record_to_a_second_summary_name_leaves_the_first_alone(folder: ResultsFolder):
    add_record(folder, record("a001", 1), make_document({}))
    add_record(folder, record("b001", 0), make_document({}), name="judge-summary.json")
    assert sorted(read_records(folder)) == ["a001"]
    assert sorted(read_records(folder, "judge-summary.json")) == ["b001"]


def test_a_missing_summary_holds_no_records(folder: ResultsFolder):
    assert read_records(folder) == {}


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"text"', "null", '{"instances": [{"score": 1}]}',
                                  '{"instances": [{"instance_id": "a", "category": "nonsense"}]}'])
def test_an_unreadable_summary_holds_no_records(folder: ResultsFolder, text: str):
    (folder.path / SUMMARY).write_text(text)
    assert read_records(folder) == {}


@pytest.mark.parametrize("text", ['{"instances": [5]}', '{"instances": 5}', '{"instances": null}'])
def test_a_summary_of_the_wrong_shape_holds_no_records(folder: ResultsFolder, text: str):
    (folder.path / SUMMARY).write_text(text)
    assert read_records(folder) == {}


def test_a_bad_entry_is_skipped_and_the_good_ones_kept(folder: ResultsFolder):
    good = record("a001", 1)
    (folder.path / SUMMARY).write_text(json.dumps({"instances": [{"score": 1}, good.to_dict()]}))
    assert read_records(folder) == {"a001": good}


def test_a_summary_replaced_by_a_symlink_is_neither_read_nor_written_through(folder: ResultsFolder, tmp_path: Path):
    victim = tmp_path / "victim.json"
    victim.write_text(json.dumps({"instances": [record("x001", 1).to_dict()]}))
    os.symlink(victim, folder.path / SUMMARY)
    assert read_records(folder) == {}
    write_summary(folder, document([record("a001", 1)], strict=False, provenance={}))
    assert json.loads(victim.read_text())["instances"][0]["instance_id"] == "x001"
    assert not (folder.path / SUMMARY).is_symlink()
    assert sorted(read_records(folder)) == ["a001"]


def test_html_name_sits_beside_its_summary():
    assert html_name("summary.json") == "report.html"
    assert html_name("judge-summary.json") == "judge-report.html"
