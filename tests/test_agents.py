"""Agents: built-ins, command templates, Python callables, the hook, time limits, reports, and start failures."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

SOLVE_INLINE = (
    "import os, duckdb; duckdb.connect(os.environ['SPIDER2_DB_PATH']).execute("
    "'CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders')"
)


def summary_of(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "spider2-results" / "summary.json").read_text())


def test_noop_fails_with_the_verdict_on_the_first_line(pytester, run, tiny_suite):
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", "-rf")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["FAILED spider2-dbt::test_instance[[]tiny001[]] - Failed: tiny001: table_missing —*"])
    result.stdout.fnmatch_lines(["*hint: the workspace has no model file orders.sql*"])


def test_gold_agent_scores_everything(pytester, run, tiny_suite):
    result = run(f"--spider2-root={tiny_suite(['tiny001', 'tiny002'])}", "--spider2-agent=gold")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["Spider2-DBT score: 2/2 (100.0%)"])


PROBE = textwrap.dedent(
    """
    import json, os, shutil, sys
    json.dump({"argv": sys.argv[1:], "cwd": os.getcwd(), "stdin": sys.stdin.read(), "dbt": shutil.which("dbt"),
               "path0": os.environ["PATH"].split(os.pathsep)[0],
               "env": {k: v for k, v in os.environ.items() if k.startswith(("SPIDER2_", "PYTEST_"))}},
              open(os.environ["SPIDER2_PROJECT_DIR"] + "/probe.json", "w"))
    """
)


def test_cmd_agent_gets_quoted_placeholders_its_env_the_venv_on_path_and_closed_stdin(
    pytester, run, tiny_suite, solving_agent, monkeypatch
):
    checkout = tiny_suite(["tiny001"])
    probe = pytester.path / "probe.py"
    probe.write_text(PROBE)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # pytest started as .venv/bin/pytest: its bin is not on PATH
    placeholders = "{instance_id} {instruction} {project_dir} {db_path}"
    template = f"{sys.executable} {probe} {placeholders} && {solving_agent[4:]}"
    basetemp = str(pytester.path / "tmp")
    result = run(f"--spider2-root={checkout}", f"--spider2-agent=cmd:{template}", "--basetemp", basetemp)
    result.assert_outcomes(passed=1)
    (probe_file,) = (pytester.path / "tmp").rglob("probe.json")
    seen = json.loads(probe_file.read_text())
    assert seen["argv"][:2] == ["tiny001", "Build orders for tiny001."]
    assert seen["argv"][2] == seen["cwd"] == seen["env"]["SPIDER2_PROJECT_DIR"]
    assert seen["argv"][3] == seen["env"]["SPIDER2_DB_PATH"] == os.path.join(seen["cwd"], "tiny.duckdb")
    assert seen["env"]["SPIDER2_INSTRUCTION"] == "Build orders for tiny001."
    assert seen["env"]["SPIDER2_AGENT_REPORT"] == str(Path(seen["cwd"]).parent / "agent-report.json")
    assert set(seen["env"]) == {"SPIDER2_INSTANCE_ID", "SPIDER2_INSTRUCTION", "SPIDER2_PROJECT_DIR",
                                "SPIDER2_DB_PATH", "SPIDER2_AGENT_REPORT"}
    assert seen["stdin"] == ""
    assert seen["path0"] == str(Path(sys.executable).parent)
    assert seen["dbt"] == str(Path(sys.executable).with_name("dbt"))


def test_a_cmd_agent_reports_cost_turns_and_model_through_its_report_file(pytester, run, tiny_suite, script_agent):
    agent = script_agent(
        "reporting",
        "import json, os\n" + SOLVE_INLINE + "\n"
        "json.dump({'cost_usd': 0.25, 'turns': 4, 'input_tokens': 1200, 'output_tokens': 300, 'model': 'm-1'},"
        " open(os.environ['SPIDER2_AGENT_REPORT'], 'w'))\n",
    )
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", f"--spider2-agent={agent}", "--junitxml=out.xml")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*agent cost: $0.25 over 1 runs ($0.25 mean), 4 turns"])
    record = summary_of(pytester)["instances"][0]
    assert (record["cost_usd"], record["turns"], record["input_tokens"], record["model"]) == (0.25, 4, 1200, "m-1")
    xml = (pytester.path / "out.xml").read_text()
    assert 'name="cost_usd" value="0.25"' in xml and 'name="model" value="m-1"' in xml


PYTHON_AGENT = textwrap.dedent(
    """
    import duckdb

    def solve(context):
        assert context.env["SPIDER2_INSTANCE_ID"] == context.instance_id == "tiny001"
        assert context.seconds_left > 0
        with duckdb.connect(str(context.db_path)) as con:
            con.execute("CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders")
        context.report(cost_usd=0.5, turns=2)
        return 0
    """
)


@pytest.mark.long
def test_python_agent_from_the_readme_works_when_pytest_runs_from_the_venv_script(pytester, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    pytester.makepyfile(my_agent=PYTHON_AGENT)
    result = pytester.run(
        Path(sys.executable).with_name("pytest"), "-p", "no:xdist", "-p", "no:cacheprovider",
        f"--spider2-root={checkout}", "--spider2-agent=python:my_agent:solve", timeout=120,
    )
    result.assert_outcomes(passed=1)
    assert summary_of(pytester)["instances"][0]["cost_usd"] == 0.5


def test_conftest_hook_supplies_the_agent(pytester, run, tiny_suite):
    pytester.makeconftest(
        f"""
        def pytest_spider2dbt_run_agent(context):
            return context.run([{sys.executable!r}, "-c", {SOLVE_INLINE!r}])
        """
    )
    run(f"--spider2-root={tiny_suite(['tiny001'])}").assert_outcomes(passed=1)
    assert summary_of(pytester)["instances"][0]["agent"] == "pytest_spider2dbt_run_agent hook"


def test_a_hook_that_ignores_the_deadline_is_reported_truthfully(pytester, run, tiny_suite):
    pytester.makeconftest(
        """
        import time

        def pytest_spider2dbt_run_agent(context):
            time.sleep(1.5)
            return 0
        """
    )
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-timeout=0.5")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*tiny001: agent_timeout — agent pytest_spider2dbt_run_agent hook ran 2 s, past "
                                 "its 0.5 s limit; an in-process hook cannot be killed: run its commands with "
                                 "context.run*"])


def test_overriding_the_workspace_fixture_prepares_it_before_the_agent(pytester, run, tiny_suite, solving_agent):
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def spider2_workspace(spider2_workspace):
            (spider2_workspace / "CONTEXT.md").write_text("orders = raw_orders with amounts doubled")
            return spider2_workspace
        """
    )
    agent = f"cmd:test -f CONTEXT.md && {solving_agent[4:]}"
    run(f"--spider2-root={tiny_suite(['tiny001'])}", f"--spider2-agent={agent}").assert_outcomes(passed=1)


def test_failing_agent_is_agent_error_with_its_exit_status_and_log_tail(pytester, run, tiny_suite):
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-agent=cmd:echo something broke >&2; exit 3")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*tiny001: agent_error — agent cmd:echo something broke >&2; exit 3 exited with status 3 after*",
         "*--- last 1 line(s) of *agent.stderr ---", "something broke"]
    )
    log = pytester.path / "spider2-results" / "logs" / "tiny001" / "agent.stderr"
    assert log.read_text() == "something broke\n"
    record = summary_of(pytester)["instances"][0]
    assert (record["agent_exit"], record["timed_out"], record["category"]) == (3, False, "agent_error")


def test_exit_status_and_timeout_stay_in_the_record_when_the_result_passes(pytester, run, tiny_suite, solving_agent):
    agent = f"cmd:{solving_agent[4:]}; exit 5"
    run(f"--spider2-root={tiny_suite(['tiny001'])}", f"--spider2-agent={agent}", "--junitxml=out.xml").assert_outcomes(
        passed=1
    )
    record = summary_of(pytester)["instances"][0]
    assert (record["category"], record["agent_exit"], record["timed_out"]) == ("passed", 5, False)
    xml = (pytester.path / "out.xml").read_text()
    assert 'name="agent_exit" value="5"' in xml and 'name="timed_out" value="false"' in xml


def test_hanging_agent_is_killed_with_everything_it_started(pytester, run, tiny_suite):
    marker = f"sleep {700000 + os.getpid()}"  # unique, to find leftovers by
    agent = f"cmd:setsid {marker} & ( {marker} & ) ; {marker}"
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-timeout=1", f"--spider2-agent={agent}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*tiny001: agent_timeout — agent cmd:* ran past its 1 s limit and was killed*"])
    assert marker not in os.popen("ps -eo args").read()
    assert summary_of(pytester)["instances"][0]["timed_out"] is True


def test_gold_path_is_never_given_to_the_agent(pytester, run, tiny_suite, monkeypatch):
    checkout = tiny_suite(["tiny001"])
    monkeypatch.setenv("SPIDER2_ROOT", str(checkout))
    monkeypatch.setenv("MY_DATA", str(checkout / "spider2-dbt" / "evaluation_suite"))
    dump = pytester.path / "env.txt"
    run("--spider2-agent=cmd:env > " + str(dump) + "; ls -R . >> " + str(dump)).assert_outcomes(failed=1)
    seen = dump.read_text()
    assert str(checkout) not in seen
    assert "evaluation_suite" not in seen


def test_the_sweep_stops_when_the_agent_keeps_failing_to_start(pytester, run, tiny_suite):
    checkout = tiny_suite([f"tiny{n:03d}" for n in range(1, 7)])
    result = run(f"--spider2-root={checkout}", "--spider2-agent=cmd:exit 127")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        ["*tiny001: agent_error — agent cmd:exit 127 did not start: command not found (status 127)*",
         "*stopping the sweep: the agent did not start 3 times in a row (command not found (status 127))*"]
    )
