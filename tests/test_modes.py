"""Evaluate-only mode (judge an existing submission folder) and strict mode (whole rows)."""

from __future__ import annotations

import json

import pytest

SCRAMBLE = (
    "import os, duckdb; duckdb.connect(os.environ['SPIDER2_DB_PATH']).execute("
    "'CREATE TABLE orders AS SELECT id, (6 - id) * 3.0 AS amount, day FROM raw_orders')"
)


@pytest.fixture
def scrambling_agent(script_agent):
    """An agent whose columns each hold the right values, but paired into the wrong rows."""
    return script_agent("scramble", SCRAMBLE)


def test_evaluate_only_judges_a_submission_without_running_agents(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002", "tiny003"])
    run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--spider2-out=submission").assert_outcomes(passed=3)
    metadata = pytester.path / "submission" / "results_metadata.jsonl"
    kept = [line for line in metadata.read_text().splitlines() if json.loads(line)["instance_id"] != "tiny003"]
    metadata.write_text("\n".join(kept) + "\n")

    result = run(f"--spider2-root={checkout}", "--spider2-results=submission", "--spider2-agent=cmd:exit 1")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "spider2-dbt judging submission: 2 results (no agent runs)",
            "Spider2-DBT score: 2/3 (66.7%)",
            "  official (evaluate.py, instances in the submission): 2/2 (100.0%)",
            "*no_result_db*1",
        ]
    )
    assert not (pytester.path / "spider2-results" / "logs").exists()


def test_evaluate_only_needs_a_submission_folder(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    result = run(f"--spider2-root={checkout}", f"--spider2-results={pytester.path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is not a Spider2 submission folder*results_metadata.jsonl is missing*"])


def test_scrambled_rows_pass_officially_and_fail_strictly(pytester, run, tiny_suite, scrambling_agent):
    checkout = tiny_suite(["tiny001"])
    official = run(f"--spider2-root={checkout}", f"--spider2-agent={scrambling_agent}")
    official.assert_outcomes(passed=1)
    official.stdout.fnmatch_lines(["Spider2-DBT score: 1/1 (100.0%)", "  strict (whole rows): 0/1 (0.0%)"])

    strict = run(f"--spider2-root={checkout}", f"--spider2-agent={scrambling_agent}", "--spider2-strict")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(["spider2-dbt verdict: strict (whole rows)", "Spider2-DBT score: 1/1 (100.0%)"])
