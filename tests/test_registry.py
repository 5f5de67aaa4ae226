"""The registry of known upstream defects: its format, its facts, and how pytest shows them (-rxs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_spider2dbt.suite import KNOWN_ISSUES, KnownIssue, Reason, SuiteError, merge_known_issues, read_known_issues

SHARED_INSTRUCTIONS = Path(__file__).parents[2] / "shared" / "spider2-data" / "spider2-dbt.jsonl"


@pytest.fixture(scope="module")
def shipped() -> dict[str, KnownIssue]:
    return read_known_issues(KNOWN_ISSUES, with_action=True)


def test_every_shipped_reason_states_its_evidence_and_how_to_check_it(shipped):
    reasons = [reason for issue in shipped.values() for reason in issue.reasons]
    assert len(reasons) >= 30
    for reason in reasons:
        assert "; evidence: " in reason.text and "; check: " in reason.text, reason


def test_shipped_registry_names_only_real_instances(shipped):
    if not SHARED_INSTRUCTIONS.is_file():
        pytest.skip(f"the Spider2-DBT instruction list is not at {SHARED_INSTRUCTIONS}")
    ids = {json.loads(line)["instance_id"] for line in SHARED_INSTRUCTIONS.read_text().splitlines() if line.strip()}
    assert set(shipped) <= ids


@pytest.mark.parametrize(
    ("instance_id", "action", "words"),
    [
        ("gitcoin001", "skip", ["#156", "no start database", "#100 and #101"]),
        ("chinook001", "xfail", ["#224", "dbt_external_tables", "git submodule"]),
        ("inzight001", "xfail", ["dbt_duckdb_utils", "older package versions", "tie"]),
        ("zuora001", "xfail", ["dbt deps", "account_active_months"]),
        ("f1003", "xfail", ["driver_current_age"]),
        ("salesforce001", "xfail", ["current_date"]),
        ("xero_new001", "xfail", ["#223", "current_date + 1 month"]),
        ("xero_new002", "xfail", ["#223", "current_date + 1 month"]),
        ("synthea001", "xfail", ["dbt_utils", "row_number"]),
        ("superstore001", "xfail", ["order by null"]),
        ("analytics_engineering001", "xfail", ["get_current_timestamp()"]),
        ("recharge001", "xfail", ["row_number"]),
        ("recharge002", "xfail", ["current_date", "row_number"]),
    ],
)
def test_defects_documented_since_are_registered(shipped, instance_id, action, words):
    issue = shipped[instance_id]
    assert issue.action == action
    for word in words:
        assert word in issue.reason


def test_several_lines_for_one_instance_keep_every_reason_and_skip_wins(tmp_path):
    registry = tmp_path / "registry.txt"
    registry.write_text("# comment\nabc001  xfail  first\n\nabc001  skip  second\nxyz001  xfail  only one\n")
    issues = read_known_issues(registry, with_action=True)
    assert issues["abc001"] == KnownIssue(
        "abc001", "skip", (Reason("first", "registry.txt", 2), Reason("second", "registry.txt", 4))
    )
    assert issues["abc001"].reason == "(1) first [registry.txt:2] (2) second [registry.txt:4]"
    assert issues["xyz001"].reason == "only one [registry.txt:5]"


def test_a_user_file_has_no_action_column_and_adds_to_the_shipped_reasons(tmp_path, shipped):
    own = tmp_path / "flaky.txt"
    own.write_text("chinook001   flaky on Mondays\n")
    merged = merge_known_issues(shipped, read_known_issues(own, with_action=False))
    assert merged["chinook001"].action == "xfail"
    assert merged["chinook001"].reasons[-1] == Reason("flaky on Mondays", "flaky.txt", 1)
    assert len(merged["chinook001"].reasons) == len(shipped["chinook001"].reasons) + 1


@pytest.mark.parametrize(
    ("text", "with_action", "expected"),
    [
        ("abc001 may why\n", True, "registry.txt:1: expected `instance_id skip|xfail reason`, got 'abc001 may why'"),
        ("ok001 fine\nabc001\n", False, "registry.txt:2: expected `instance_id reason`, got 'abc001'"),
    ],
)
def test_a_bad_line_is_named_with_its_number(tmp_path, text, with_action, expected):
    registry = tmp_path / "registry.txt"
    registry.write_text(text)
    with pytest.raises(SuiteError, match="registry.txt") as raised:
        read_known_issues(registry, with_action=with_action)
    assert str(raised.value).endswith(expected)


# ------------------------------------------------------------------------------------------------ through pytest


@pytest.fixture
def shipped_ids_suite(tiny_suite):
    """A suite whose ids collide with the shipped registry (skips, xfails with several reasons), plus a clean one."""
    return tiny_suite(["airbnb002", "gitcoin001", "chinook001", "tiny001"])


def test_known_issues_are_skipped_or_xfailed_showing_every_reason(run, shipped_ids_suite):
    result = run(f"--spider2-root={shipped_ids_suite}", "-rxs")
    result.assert_outcomes(skipped=2, xfailed=1, failed=1)
    result.stdout.fnmatch_lines([
        "SKIPPED*airbnb002: no gold database is shipped; evidence: Spider2 issue #156; check: *[[]known_issues.txt:*]",
    ])
    result.stdout.fnmatch_lines([
        "SKIPPED*gitcoin001: (1) no gold database*[[]known_issues.txt:*] (2) no start database either*#100 and #101*",
    ])
    result.stdout.fnmatch_lines([
        "XFAIL*chinook001] - chinook001: (1) the gold file equals the start database*#224*"
        "(2) dbt_packages/dbt_external_tables is an empty folder*",
    ])
    result.stdout.fnmatch_lines(["*outcomes: 1 failed, 1 xfailed, 2 skipped"])


def test_known_issues_can_be_turned_off(run, shipped_ids_suite):
    run(f"--spider2-root={shipped_ids_suite}", "--spider2-no-known-issues").assert_outcomes(failed=4)


def test_a_user_xfail_file_adds_reasons_and_xpasses_are_counted(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "chinook001"])
    (pytester.path / "flaky.txt").write_text("# our flaky list\ntiny001   flaky on Mondays\n\nchinook001  ours too\n")
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--spider2-xfail=flaky.txt", "-rX")
    result.assert_outcomes(xpassed=2)
    result.stdout.fnmatch_lines(["*outcomes: 2 xpassed"])
    result.stdout.fnmatch_lines(["XPASS*tiny001] - tiny001: flaky on Mondays [[]flaky.txt:2[]]"])
    result.stdout.fnmatch_lines(["XPASS*chinook001] - chinook001: (1) the gold file*(3) ours too [[]flaky.txt:4]"])


def test_a_user_xfail_file_naming_an_unknown_id_is_a_usage_error_with_the_line(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    (pytester.path / "flaky.txt").write_text("tiny001 fine\ntiny999 typo\n")
    result = run(f"--spider2-root={checkout}", "--spider2-xfail=flaky.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*flaky.txt:2: unknown instance id 'tiny999'*"])
