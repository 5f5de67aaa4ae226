"""The embedded demo suite end to end: real dbt, real DuckDB, the reference agent passes, noop fails."""

from __future__ import annotations

import json

from pytest_spider2dbt import demo

DEMO_IDS = sorted(demo.DEMO_INSTANCE_IDS)


def test_reference_agent_passes_every_demo_instance(pytester, run):
    result = run("--spider2-demo", "--spider2-agent=reference", "-v")
    result.assert_outcomes(passed=len(DEMO_IDS))
    result.stdout.fnmatch_lines([f"Spider2-DBT score: {len(DEMO_IDS)}/{len(DEMO_IDS)} (100.0%)"])
    metadata = (pytester.path / "spider2-results" / "results_metadata.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["instance_id"] for line in metadata) == DEMO_IDS


def test_noop_fails_every_demo_instance_with_a_report(pytester, run):
    result = run("--spider2-demo")
    result.assert_outcomes(failed=len(DEMO_IDS))
    result.stdout.fnmatch_lines([f"Spider2-DBT score: 0/{len(DEMO_IDS)} (0.0%)", f"*table_missing*{len(DEMO_IDS)}"])
    result.stdout.fnmatch_lines(["*lemonade001*table_missing*", "*daily_stand_revenue*"])


def test_dbt_agent_builds_what_the_start_project_has(pytester, run):
    result = run("--spider2-demo", "--spider2-agent=dbt", "-k", "lemonade002")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*lemonade002*table_missing*"])


def test_reference_agent_refuses_other_suites(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    result = run(f"--spider2-root={checkout}", "--spider2-agent=reference")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*tiny001: agent_error*", "*only solves the embedded demo suite*"])


def test_the_demo_root_is_accepted_by_spider2_root(pytester, run):
    result = run(f"--spider2-root={demo.demo_root()}", "--spider2-agent=gold", "-k", "clinic001")
    result.assert_outcomes(passed=1)
