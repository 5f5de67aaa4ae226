"""Collection and activation: one test per instance, stable ids, pytest's conventions, nothing from the tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pytest_spider2dbt"


def test_without_a_suite_the_plugin_stays_out_of_the_way(pytester, run):
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = run("-v")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*spider2-dbt*")
    result.stdout.no_fnmatch_line("*Spider2-DBT*")


def test_an_exported_root_alone_does_not_hijack_another_projects_tests(pytester, run, tiny_suite, monkeypatch):
    monkeypatch.setenv("SPIDER2_ROOT", str(tiny_suite(["tiny001"])))
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = run("-v")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*test_instance*")


def test_an_exported_root_configures_a_run_that_asks_for_the_benchmark(pytester, run, tiny_suite, monkeypatch):
    monkeypatch.setenv("SPIDER2_ROOT", str(tiny_suite(["tiny001"])))
    result = run("--spider2-agent=gold", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["spider2-dbt::test_instance[[]tiny001[]]"])


def test_the_ini_file_activates_a_run(pytester, run, tiny_suite):
    pytester.makeini(f"[pytest]\nspider2_root = {tiny_suite(['tiny001'])}\n")
    run("--collect-only", "-q").stdout.fnmatch_lines(["spider2-dbt::test_instance[[]tiny001[]]"])


@pytest.mark.parametrize("where", ["checkout", "spider2-dbt folder"])
def test_one_test_per_instance_named_by_id(pytester, run, tiny_suite, where):
    checkout = tiny_suite(["tiny001", "tiny002", "tiny003"])
    root = checkout if where == "checkout" else checkout / "spider2-dbt"
    result = run(f"--spider2-root={root}", "--collect-only", "-q")
    result.stdout.fnmatch_lines([f"spider2-dbt::test_instance[[]tiny00{n}[]]" for n in (1, 2, 3)])


def test_dash_k_selects_exactly_one_instance(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002", "tiny003"])
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "-k", "tiny002", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_instance[[]tiny002[]] PASSED*"])
    result.stdout.no_fnmatch_line("*test_instance[[]tiny001[]]*")


def test_last_failed_reruns_failed_instances_beside_the_users_own_failing_test(pytester, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    (checkout / "spider2-dbt" / "evaluation_suite" / "gold" / "tiny002" / "tiny.duckdb").unlink()
    pytester.makepyfile(test_mine="def test_mine():\n    assert False\n")
    args = [f"--spider2-root={checkout}", "--spider2-agent=gold", "-p", "no:xdist", "test_mine.py"]
    pytester.runpytest(*args).assert_outcomes(passed=1, failed=1, errors=1)
    again = pytester.runpytest(*args, "--lf", "-v")
    again.assert_outcomes(failed=1, errors=1)
    again.stdout.fnmatch_lines(["*test_instance[[]tiny002[]] ERROR*"])
    again.stdout.no_fnmatch_line("*test_instance[[]tiny001[]]*")


def test_running_pytest_on_the_package_folder_collects_nothing_from_it(pytester):
    shutil.copytree(PACKAGE, pytester.path / "pytest_spider2dbt", ignore=shutil.ignore_patterns("__pycache__"))
    result = pytester.runpytest("-p", "no:xdist", ".")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_root_given_with_a_space_that_moves_the_rootdir_is_a_usage_error(pytester, tiny_suite, monkeypatch):
    project = pytester.path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\nspider2_agent = gold\n")
    checkout = tiny_suite(["tiny001"])
    monkeypatch.chdir(project)
    spaced = pytester.runpytest("-p", "no:xdist", "--spider2-root", str(checkout), "--collect-only")
    equals = pytester.runpytest("-p", "no:xdist", f"--spider2-root={checkout}", "--collect-only")
    assert spaced.ret == pytest.ExitCode.USAGE_ERROR
    spaced.stderr.fnmatch_lines([f"*--spider2-root {checkout} (with a space)*Write it with '='*"])
    equals.stdout.fnmatch_lines(["*spider2-dbt agent: gold*", "rootdir: */project*"])


def test_nothing_inside_the_spider2_tree_is_imported_or_collected(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    vendored = checkout / "spider2-dbt" / "examples" / "tiny001" / "dbt_packages" / "dbt_utils" / "tests"
    vendored.mkdir(parents=True)
    (vendored / "conftest.py").write_text("raise RuntimeError('vendored conftest imported')\n")
    (vendored / "test_vendored.py").write_text("def test_vendored():\n    raise AssertionError('collected')\n")
    pytester.makepyfile(test_mine="def test_mine():\n    pass\n")
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*test_vendored*")
    result.stdout.no_fnmatch_line("*test_mine*")


def test_explicit_test_paths_still_run_beside_the_instances(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    pytester.makepyfile(test_mine="def test_mine():\n    pass\n")
    run(f"--spider2-root={checkout}", "--spider2-agent=gold", "test_mine.py").assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("no example", "*tiny002: config_error — tiny002: the example project *examples/tiny002 does not exist*"),
        ("no gold", "*tiny002: gold_missing — tiny002: the gold database *gold/tiny002/tiny.duckdb does not exist*"),
        ("no evaluator entry", "*tiny002: config_error — tiny002 has no evaluator entry in *spider2_eval.jsonl*"),
    ],
)
def test_a_broken_instance_fails_alone(pytester, run, tiny_suite, breakage, expected):
    per_instance = {"no example": {"example": False}, "no gold": {"gold": False}}.get(breakage, {})
    checkout = tiny_suite(["tiny001", "tiny002"], tiny002=per_instance)
    if breakage == "no evaluator entry":
        evaluation = checkout / "spider2-dbt" / "evaluation_suite" / "gold" / "spider2_eval.jsonl"
        evaluation.write_text(evaluation.read_text().splitlines()[0] + "\n")
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "-rE")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([expected])


def test_a_checkout_without_its_data_archives_gets_one_diagnosis(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"], tiny001={"gold": False}, tiny002={"gold": False})
    for start in (checkout / "spider2-dbt" / "examples").rglob("*.duckdb"):
        start.unlink()
    result = run(f"--spider2-root={checkout}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no start databases or gold files found*setup.py*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--spider2-root={bad}"], "*is not a Spider2 checkout*--spider2-root*"),
        (["--spider2-agent=magic"], "*unknown agent 'magic'*"),
        (["--spider2-agent=cmd:no-such-agent-binary --go"],
         "*'no-such-agent-binary' is not a command on the agent's PATH*"),
        (["--spider2-agent=cmd:./agent.sh"], "*'./agent.sh' is a relative path*absolute path*"),
        (["--spider2-agent=python:no_such_module:solve"], "*cannot import 'no_such_module'*"),
        (["--spider2-agent=reference"], "*reference agent only solves the embedded demo suite*--spider2-demo*"),
        (["--spider2-timeout=soon"], "*--spider2-timeout on the command line: 'soon' is not valid*"),
        (["--spider2-clock=yesterday"], "*--spider2-clock 'yesterday' is neither 'off', a date*"),
        (["--spider2-demo"], "*--spider2-root and --spider2-demo exclude each other*"),
    ],
)
def test_bad_settings_are_usage_errors_that_say_what_to_do(pytester, run, tiny_suite, args, message):
    checkout = tiny_suite(["tiny001"])
    filled = [arg.format(bad=pytester.path / "nowhere") for arg in args]
    root = [] if any(a.startswith("--spider2-root") for a in filled) else [f"--spider2-root={checkout}"]
    result = run(*root, *filled)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_a_bad_environment_value_names_its_variable(pytester, run, tiny_suite, monkeypatch):
    monkeypatch.setenv("SPIDER2_TIMEOUT", "soon")
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*environment variable SPIDER2_TIMEOUT: 'soon' is not valid*"])


def test_malformed_jsonl_is_a_usage_error_naming_file_and_line(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    instructions = checkout / "spider2-dbt" / "examples" / "spider2-dbt.jsonl"
    lines = instructions.read_text().splitlines()
    instructions.write_text(lines[0] + "\n" + lines[1][:-3] + "\n")
    result = run(f"--spider2-root={checkout}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*spider2-dbt.jsonl:2: not valid JSON*"])


def test_header_names_suite_agent_isolation_clock_and_versions(pytester, run, tiny_suite):
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-agent=gold", "--spider2-sandbox=none")
    result.stdout.fnmatch_lines(
        [
            "spider2-dbt suite: *spider2-dbt (1 instances)",
            "spider2-dbt agent: gold (timeout 1800 s), results: *spider2-results",
            "spider2-dbt isolation: none*",
            "spider2-dbt verdict: official; clock: off",
            "spider2-dbt versions: plugin *, python *, pandas *, duckdb *, dbt-core *, dbt-duckdb *",
            "spider2-dbt suite commit: not a git checkout; spider2_eval.jsonl sha256 *",
        ]
    )


def test_an_agent_whose_files_lie_inside_the_spider2_tree_is_a_usage_error(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    script = checkout / "spider2-dbt" / "agent.py"
    script.write_text("print('hi')\n")
    result = run(f"--spider2-root={checkout}", f"--spider2-agent=cmd:python3 {script}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--spider2-agent names *agent.py, which lies inside *an agent must never see*"])
