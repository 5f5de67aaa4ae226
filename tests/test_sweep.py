"""The full sweep as teams run it: concurrency, known issues, rounds, Claude Code, reuse and preflight."""

from __future__ import annotations

import json
import stat
import sys
import textwrap

import pytest


def test_waiting_agents_run_concurrently_under_xdist(pytester, tiny_suite):
    checkout = tiny_suite([f"tiny{n:03d}" for n in range(1, 7)])
    spans = pytester.path / "spans"
    spans.mkdir()
    agent = f"cmd:{sys.executable} -c 'import time; print(time.time())' > {spans}/$SPIDER2_INSTANCE_ID.start; sleep 4"
    result = pytester.runpytest_subprocess(f"--spider2-root={checkout}", f"--spider2-agent={agent}", "-n", "3")
    result.assert_outcomes(failed=6)
    starts = sorted(float(p.read_text()) for p in spans.iterdir())
    # Three workers each start an agent before any 4 s agent can have finished.
    assert starts[2] - starts[0] < 4


@pytest.fixture
def shipped_ids_suite(tiny_suite):
    """A suite whose ids collide with the shipped registry (one skip, one xfail), plus a clean one."""
    return tiny_suite(["airbnb002", "chinook001", "tiny001"])


def test_known_issues_are_skipped_or_xfailed_with_reasons(pytester, run, shipped_ids_suite):
    result = run(f"--spider2-root={shipped_ids_suite}", "-rxs")
    result.assert_outcomes(skipped=1, xfailed=1, failed=1)
    result.stdout.fnmatch_lines(["SKIPPED*airbnb002: no gold database is shipped (Spider2 issue #156) [[]known_issues.txt:*]"])
    result.stdout.fnmatch_lines(["XFAIL*chinook001: the gold file equals the start database*"])
    result.stdout.fnmatch_lines(["*outcomes: 1 failed, 1 xfailed, 1 skipped", "*skipped*1"])


def test_known_issues_can_be_turned_off(pytester, run, shipped_ids_suite):
    result = run(f"--spider2-root={shipped_ids_suite}", "--spider2-no-known-issues")
    result.assert_outcomes(failed=3)


def test_user_xfail_file_marks_instances_and_xpasses_are_counted(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    (pytester.path / "flaky.txt").write_text("# our flaky list\ntiny001   flaky on Mondays\n\n")
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--spider2-xfail=flaky.txt", "-rX")
    result.assert_outcomes(passed=1, xpassed=1)
    result.stdout.fnmatch_lines(["*outcomes: 1 passed, 1 xpassed"])
    result.stdout.fnmatch_lines(["XPASS*tiny001: flaky on Mondays [[]flaky.txt:2[]]"])


def test_user_xfail_file_with_an_unknown_id_names_the_line(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    (pytester.path / "flaky.txt").write_text("tiny001 fine\ntiny999 typo\n")
    result = run(f"--spider2-root={checkout}", "--spider2-xfail=flaky.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*flaky.txt:2: unknown instance id 'tiny999'*"])


def test_rounds_run_each_instance_n_times_and_report_the_spread(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    pytester.makeconftest(
        """
        def pytest_spider2dbt_run_agent(context):
            return 0 if "tiny002" in str(context.log_dir) and "round-2" in str(context.log_dir) else None
        """
    )
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--spider2-rounds=3", "-v")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*test_instance[[]tiny002-round-2[]]*"])
    result.stdout.fnmatch_lines(
        [
            "Spider2-DBT score: 5/6 (83.3%)",
            "*rounds: 3; mean score 83.3% ± 16.7% (standard error over rounds)",
            "*pass@3: 2/2 (100.0%)",
            "*passes per instance:",
            "*tiny001  3/3",
            "*tiny002  2/3",
        ]
    )
    for n in (1, 2, 3):
        lines = (pytester.path / "spider2-results" / f"round-{n}" / "results_metadata.jsonl").read_text().splitlines()
        assert len(lines) == 2


CLAUDE_STAND_IN = textwrap.dedent(
    """\
    #!{python}
    # Stand-in for the Claude Code CLI: checks its flags, does the task, prints its stream-json format.
    import json, os, sys
    args = sys.argv[1:]
    assert args[:7] == ["--print", "--output-format", "stream-json", "--verbose", "--permission-mode",
                        "bypassPermissions", "--model"], args
    assert args[7] == "opus" and args[8:10] == ["--max-budget-usd", "2.5"], args
    prompt = args[-1]
    print(json.dumps({{"type": "system", "subtype": "init", "model": args[7], "cwd": os.getcwd()}}))
    print(json.dumps({{"type": "assistant", "message": {{"content": [{{"type": "text", "text": "On it: " + prompt}}]}}}}))
    import duckdb
    duckdb.connect("tiny.duckdb").execute(
        "CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders")
    print(json.dumps({{"type": "result", "subtype": "success", "is_error": False, "duration_ms": 1234,
                      "num_turns": 7, "total_cost_usd": 0.42, "result": "done"}}))
    """
)


def test_claude_code_preset_records_cost_and_turns(pytester, run, tiny_suite, monkeypatch):
    checkout = tiny_suite(["tiny001"])
    bin_dir = pytester.path / "bin"
    bin_dir.mkdir()
    claude = bin_dir / "claude"
    claude.write_text(CLAUDE_STAND_IN.format(python=sys.executable))
    claude.chmod(claude.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    result = run(
        f"--spider2-root={checkout}",
        "--spider2-agent=claude-code",
        "--spider2-model=opus",
        "--spider2-budget=2.5",
        "--junitxml=out.xml",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*agent cost: $0.42 over 1 runs, 7 turns"])
    stream = (pytester.path / "spider2-results" / "logs" / "tiny001" / "agent.jsonl").read_text().splitlines()
    assert json.loads(stream[-1])["type"] == "result"
    xml = (pytester.path / "out.xml").read_text()
    assert 'name="cost_usd" value="0.42"' in xml and 'name="turns" value="7"' in xml


def test_reuse_judges_filed_results_without_running_the_agent(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    run(f"--spider2-root={checkout}", "--spider2-agent=gold", "-k", "tiny001").assert_outcomes(passed=1)
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--spider2-reuse", "-v")
    result.assert_outcomes(passed=2)
    summary = json.loads((pytester.path / "spider2-results" / "summary.json").read_text())
    assert {i["instance_id"]: i["agent"] for i in summary["instances"]} == {"tiny001": "reused", "tiny002": "gold"}


def test_preflight_reports_hygiene_without_running_agents(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002", "tiny003"], tiny002={"gold": False})
    gold_dir = checkout / "spider2-dbt" / "evaluation_suite" / "gold" / "tiny003"
    start = checkout / "spider2-dbt" / "examples" / "tiny003" / "tiny.duckdb"
    (gold_dir / "tiny.duckdb").write_bytes(start.read_bytes())  # a gold that the start already satisfies...
    evaluation = checkout / "spider2-dbt" / "evaluation_suite" / "gold" / "spider2_eval.jsonl"
    entries = [json.loads(line) for line in evaluation.read_text().splitlines()]
    entries[2]["evaluation"]["parameters"]["condition_tabs"] = ["raw_orders"]  # ...on a table it already has
    evaluation.write_text("".join(json.dumps(e) + "\n" for e in entries))
    (checkout / "spider2-dbt" / "examples" / "tiny001" / "packages.yml").write_text("packages: []\n")

    result = run(f"--spider2-root={checkout}", "--spider2-check", "--spider2-agent=cmd:exit 1")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "instance*example*start_db*gold*gold_name*packages*free_pass",
            "tiny001*ok*ok*ok*ok*dbt deps needed*no",
            "tiny002*ok*ok*missing*ok*none*-",
            "tiny003*ok*ok*ok*ok*none*yes",
        ]
    )
    assert not (pytester.path / "spider2-results" / "logs").exists()
