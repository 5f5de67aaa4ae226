"""Suite discovery and collection: one test per instance, stable ids, nothing else from the Spider2 tree."""

from __future__ import annotations

import pytest


def test_without_a_suite_the_plugin_stays_out_of_the_way(pytester, run):
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = run("-v")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*spider2-dbt suite*")
    result.stdout.no_fnmatch_line("*Spider2-DBT score*")


@pytest.mark.parametrize("where", ["checkout", "spider2-dbt folder"])
def test_one_test_per_instance_named_by_id(pytester, run, tiny_suite, where):
    checkout = tiny_suite(["tiny001", "tiny002", "tiny003"])
    root = checkout if where == "checkout" else checkout / "spider2-dbt"
    result = run(f"--spider2-root={root}", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "spider2-dbt::test_instance[[]tiny001[]]",
            "spider2-dbt::test_instance[[]tiny002[]]",
            "spider2-dbt::test_instance[[]tiny003[]]",
        ]
    )


def test_dash_k_selects_exactly_one_instance(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002", "tiny003"])
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "-k", "tiny002", "-v")
    assert result.parseoutcomes()["passed"] == 1
    result.stdout.fnmatch_lines(["*PASSED*"])
    result.stdout.fnmatch_lines(["*test_instance[[]tiny002[]]*"])
    result.stdout.no_fnmatch_line("*test_instance[[]tiny001[]]*")


def test_root_from_environment_and_ini(pytester, tiny_suite, monkeypatch):
    checkout = tiny_suite(["tiny001"])
    monkeypatch.setenv("SPIDER2_ROOT", str(checkout))
    result = pytester.runpytest_subprocess("--collect-only", "-q")
    result.stdout.fnmatch_lines(["spider2-dbt::test_instance[[]tiny001[]]"])
    monkeypatch.delenv("SPIDER2_ROOT")
    pytester.makeini(f"[pytest]\nspider2_root = {checkout}\n")
    result = pytester.runpytest_subprocess("--collect-only", "-q")
    result.stdout.fnmatch_lines(["spider2-dbt::test_instance[[]tiny001[]]"])


def test_last_failed_reruns_only_the_failed_instances(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    (checkout / "spider2-dbt" / "evaluation_suite" / "gold" / "tiny002" / "tiny.duckdb").unlink()
    first = run(f"--spider2-root={checkout}", "--spider2-agent=gold")
    first.assert_outcomes(passed=1, errors=1)
    again = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--lf", "-v")
    again.assert_outcomes(errors=1)
    again.stdout.no_fnmatch_line("*test_instance[[]tiny001[]]*")


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


def test_explicit_test_paths_still_run_beside_the_instances(pytester, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    pytester.makepyfile(test_mine="def test_mine():\n    pass\n")
    result = pytester.runpytest_subprocess(f"--spider2-root={checkout}", "--spider2-agent=gold", "test_mine.py")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("no example", "*tiny002: the example project *examples/tiny002 does not exist*"),
        ("no gold", "*tiny002: the gold database *gold/tiny002/tiny.duckdb does not exist*"),
        ("no evaluator entry", "*tiny002 has no evaluator entry in *spider2_eval.jsonl*"),
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


def test_malformed_jsonl_is_a_usage_error_naming_file_and_line(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    instructions = checkout / "spider2-dbt" / "examples" / "spider2-dbt.jsonl"
    lines = instructions.read_text().splitlines()
    instructions.write_text(lines[0] + "\n" + lines[1][:-3] + "\n")
    result = run(f"--spider2-root={checkout}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*spider2-dbt.jsonl:2: not valid JSON*"])


def test_a_wrong_root_says_what_to_do(pytester, run):
    result = run(f"--spider2-root={pytester.path / 'nowhere'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is not a Spider2 checkout*--spider2-root*"])


def test_bad_timeout_names_its_source(pytester, run, tiny_suite, monkeypatch):
    checkout = tiny_suite(["tiny001"])
    monkeypatch.setenv("SPIDER2_TIMEOUT", "soon")
    result = run(f"--spider2-root={checkout}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*environment variable SPIDER2_TIMEOUT: 'soon' is not valid*"])


def test_header_names_suite_and_agent(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold")
    result.stdout.fnmatch_lines(["spider2-dbt suite: *spider2-dbt (1 instances)", "spider2-dbt agent: gold*"])
