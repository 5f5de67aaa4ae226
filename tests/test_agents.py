"""Agents: built-ins, command templates, Python callables, the hook, time limits and isolation from the gold."""

from __future__ import annotations

import json
import os
import sys
import textwrap

import pytest


def test_noop_fails_with_table_missing(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    result = run(f"--spider2-root={checkout}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*tiny001*table_missing*", "Spider2-DBT score: 0/1 (0.0%)*", "*table_missing*1*"])


def test_gold_agent_scores_everything(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["Spider2-DBT score: 2/2 (100.0%)"])


def test_cmd_agent_gets_quoted_placeholders_env_and_closed_stdin(pytester, run, tiny_suite, solving_agent):
    checkout = tiny_suite(["tiny001"])
    probe = pytester.path / "probe.py"
    probe.write_text(
        textwrap.dedent(
            """
            import json, os, sys
            json.dump({"argv": sys.argv[1:], "cwd": os.getcwd(), "stdin": sys.stdin.read(),
                       "env": {k: v for k, v in os.environ.items() if k.startswith("SPIDER2_")}},
                      open(os.environ["SPIDER2_PROJECT_DIR"] + "/probe.json", "w"))
            """
        )
    )
    template = f"{sys.executable} {probe} {{instance_id}} {{instruction}} {{project_dir}} {{db_path}} && {solving_agent[4:]}"
    result = run(f"--spider2-root={checkout}", f"--spider2-agent=cmd:{template}", "--basetemp", str(pytester.path / "tmp"))
    result.assert_outcomes(passed=1)
    (probe_file,) = (pytester.path / "tmp").rglob("probe.json")
    seen = json.loads(probe_file.read_text())
    assert seen["argv"][:2] == ["tiny001", "Build orders for tiny001."]
    assert seen["argv"][2] == seen["cwd"] == seen["env"]["SPIDER2_PROJECT_DIR"]
    assert seen["argv"][3] == seen["env"]["SPIDER2_DB_PATH"] == os.path.join(seen["cwd"], "tiny.duckdb")
    assert seen["env"]["SPIDER2_INSTRUCTION"] == "Build orders for tiny001."
    assert seen["stdin"] == ""


def test_python_callable_agent(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    pytester.makepyfile(
        my_agent="""
        import duckdb

        def solve(context):
            assert context.env["SPIDER2_INSTANCE_ID"] == context.instance_id == "tiny001"
            assert context.seconds_left > 0
            with duckdb.connect(str(context.db_path)) as con:
                con.execute("CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders")
            return 0
        """
    )
    result = run(f"--spider2-root={checkout}", "--spider2-agent=python:my_agent:solve")
    result.assert_outcomes(passed=1)


def test_python_agent_that_cannot_be_imported_is_a_usage_error(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    result = run(f"--spider2-root={checkout}", "--spider2-agent=python:no_such_module:solve")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cannot import 'no_such_module'*"])


def test_unknown_agent_is_a_usage_error(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    result = run(f"--spider2-root={checkout}", "--spider2-agent=magic")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown agent 'magic'*"])


def test_conftest_hook_supplies_the_agent(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    pytester.makeconftest(
        f"""
        def pytest_spider2dbt_run_agent(context):
            return context.run([{sys.executable!r}, "-c", {SOLVE_INLINE!r}])
        """
    )
    result = run(f"--spider2-root={checkout}")
    result.assert_outcomes(passed=1)


SOLVE_INLINE = (
    "import os, duckdb; duckdb.connect(os.environ['SPIDER2_DB_PATH']).execute("
    "'CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders')"
)


def test_overriding_the_workspace_fixture_prepares_it_before_the_agent(pytester, run, tiny_suite, solving_agent):
    checkout = tiny_suite(["tiny001"])
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def spider2_workspace(spider2_workspace):
            (spider2_workspace / "CONTEXT.md").write_text("orders = raw_orders with amounts doubled")
            return spider2_workspace
        """
    )
    result = run(f"--spider2-root={checkout}", f"--spider2-agent=cmd:test -f CONTEXT.md && {solving_agent[4:]}")
    result.assert_outcomes(passed=1)


def test_failing_agent_is_agent_error_with_its_log_tail(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    result = run(f"--spider2-root={checkout}", "--spider2-agent=cmd:echo something broke >&2; exit 3")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*tiny001: agent_error*", "*exited with status 3*", "*something broke*", "*agent_error*1*"]
    )
    assert (pytester.path / "spider2-results" / "logs" / "tiny001" / "agent.stderr").read_text() == "something broke\n"


def test_hanging_agent_is_killed_with_its_children(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    marker = f"sleep {700000 + os.getpid() * 2 + (run.mode == 'xdist')}"  # unique, to find orphans by
    result = run(f"--spider2-root={checkout}", "--spider2-timeout=2", f"--spider2-agent=cmd:{marker} & {marker}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*tiny001: agent_timeout*", "*timed out after 2 s*"])
    assert marker not in os.popen("ps -eo args").read()


def test_gold_path_is_never_given_to_the_agent(pytester, run, tiny_suite, monkeypatch):
    checkout = tiny_suite(["tiny001"])
    monkeypatch.setenv("SPIDER2_ROOT", str(checkout))
    dump = pytester.path / "env.txt"
    result = run(f"--spider2-agent=cmd:env > {dump}; ls -R . >> {dump}")
    result.assert_outcomes(failed=1)
    seen = dump.read_text()
    assert str(checkout) not in seen
    assert "evaluation_suite" not in seen


NOSY_AGENT = textwrap.dedent(
    """
    import os, pathlib
    # Leave a file in every folder the agent can name (its ancestors, any folder in its environment), but
    # only inside the test's own folder, so the machine is left clean.
    limit = pathlib.Path(os.environ["NOSY_LIMIT"])
    here = pathlib.Path.cwd()
    folders = list(here.parents) + [pathlib.Path(v) for v in os.environ.values() if os.path.isdir(v)]
    for folder in folders:
        if not folder.is_relative_to(limit):
            continue
        try:
            (folder / "nosy.txt").write_text("was here")
        except OSError:
            pass
    """
)


def test_spider2_tree_is_never_modified(pytester, run, tiny_suite, solving_agent, tree_checksum, monkeypatch, script_agent):
    monkeypatch.setenv("NOSY_LIMIT", str(pytester.path))
    checkout = tiny_suite(["tiny001", "tiny002"])
    before = tree_checksum(checkout)
    result = run(f"--spider2-root={checkout}", f"--spider2-agent={solving_agent}")
    result.assert_outcomes(passed=2)
    nosy = script_agent("nosy", NOSY_AGENT)
    run(f"--spider2-root={checkout}", f"--spider2-agent={nosy}").assert_outcomes(failed=2)
    assert (pytester.path / "nosy.txt").exists()
    run(f"--spider2-root={checkout}", "--spider2-agent=gold").assert_outcomes(passed=2)
    assert tree_checksum(checkout) == before
