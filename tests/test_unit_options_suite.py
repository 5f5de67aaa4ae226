"""Unit tests of the settings (options.py) and of reading a Spider2 checkout into instances (suite.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_spider2dbt.categories import Category
from pytest_spider2dbt.options import (
    OPTIONS,
    Option,
    OptionError,
    positive_dollars,
    positive_int,
    positive_megabytes,
    positive_seconds,
    resolve,
    resolve_path,
    sandbox_mode,
    true_or_false,
)
from pytest_spider2dbt.suite import (
    Checks,
    SuiteError,
    load_suite,
    parse_checks,
    resolve_suite_root,
)

# ------------------------------------------------------------------------------------------------- options


def option(name: str) -> Option:
    return next(o for o in OPTIONS if o.name == name)


def test_option_names_give_the_flag_and_the_ini_key():
    assert option("max_result_mb").cli == "--spider2-max-result-mb"
    assert option("max_result_mb").ini == "spider2_max_result_mb"


def test_every_option_is_named_once_and_its_environment_variable_is_a_spider2_one():
    names = [o.name for o in OPTIONS]
    assert len(names) == len(set(names))
    assert all(o.env.startswith("SPIDER2_") for o in OPTIONS if o.env)


def test_the_command_line_wins_over_the_environment_and_the_ini_file():
    rounds = option("rounds")
    assert resolve(rounds, "3", {"SPIDER2_ROUNDS": "2"}, "4") == 3
    assert resolve(rounds, None, {"SPIDER2_ROUNDS": "2"}, "4") == 2
    assert resolve(rounds, None, {}, "4") == 4
    assert resolve(rounds, None, {}, None) == 1


def test_an_empty_value_counts_as_not_given():
    assert resolve(option("rounds"), "", {"SPIDER2_ROUNDS": ""}, "5") == 5
    assert resolve(option("out"), None, {"SPIDER2_OUT": ""}, "") == "spider2-results"


def test_a_later_source_is_not_even_checked_once_an_earlier_one_gives_the_value():
    assert resolve(option("rounds"), "2", {"SPIDER2_ROUNDS": "zero"}, "-1") == 2


@pytest.mark.parametrize(
    ("cli", "environ", "ini", "source"),
    [
        ("0", {}, None, "--spider2-rounds on the command line"),
        (None, {"SPIDER2_ROUNDS": "two"}, "3", "environment variable SPIDER2_ROUNDS"),
        (None, {}, "-1", "ini option spider2_rounds"),
    ],
)
def test_a_bad_value_is_an_error_that_names_its_source(cli, environ, ini, source: str):
    with pytest.raises(OptionError) as error:
        resolve(option("rounds"), cli, environ, ini)
    assert str(error.value).startswith(f"{source}: ")
    assert "is not valid" in str(error.value)


def test_the_error_says_what_a_good_value_is():
    with pytest.raises(OptionError, match="must be auto, bwrap or none"):
        resolve(option("sandbox"), "docker", {}, None)


def test_a_flag_comes_from_the_command_line_or_the_ini_file():
    strict = option("strict")
    assert resolve(strict, True, {}, False) is True
    assert resolve(strict, None, {}, True) is True
    assert resolve(strict, None, {}, False) is False
    assert resolve(strict, None, {}, "yes") is True


def test_a_repeat_option_gives_a_tuple_from_any_source():
    bind = option("sandbox_bind")
    assert resolve(bind, ["~/.claude:ro", "/opt/tools"], {"SPIDER2_SANDBOX_BIND": "/x"}, ["/y"]) == (
        "~/.claude:ro", "/opt/tools")
    assert resolve(bind, None, {"SPIDER2_SANDBOX_BIND": "/a:/b /c:ro"}, ["/y"]) == ("/a:/b", "/c:ro")
    assert resolve(bind, None, {}, ["/y", "/z:ro"]) == ("/y", "/z:ro")
    assert resolve(bind, None, {}, []) == ()


def test_a_value_given_as_a_list_to_a_single_option_is_joined():
    assert resolve(option("agent"), ["cmd:python", "agent.py"], {}, None) == "cmd:python agent.py"


def test_defaults():
    defaults = {o.name: resolve(o, None, {}, None) for o in OPTIONS}
    assert defaults["agent"] == "noop"
    assert defaults["timeout"] == 1800.0
    assert defaults["rounds"] == 1
    assert defaults["sandbox"] == "auto"
    assert defaults["max_result_mb"] == 4096
    assert defaults["clock"] == "off"
    assert defaults["out"] == "spider2-results"
    assert defaults["root"] is None
    assert defaults["strict"] is False
    assert defaults["sandbox_bind"] == ()


@pytest.mark.parametrize(
    ("convert", "good", "bad"),
    [
        (positive_seconds, {"1800": 1800.0, "0.5": 0.5, "1e3": 1000.0}, ["0", "-1", "nan", "soon"]),
        (positive_int, {"1": 1, "12": 12}, ["0", "-3", "2.5", "many"]),
        (positive_dollars, {"0.25": 0.25, "10": 10.0}, ["0", "-1", "nan", "$5"]),
        (positive_megabytes, {"1": 1, "4096": 4096}, ["0", "1.5", "big"]),
        (sandbox_mode, {"auto": "auto", " BWRAP ": "bwrap", "None": "none"}, ["docker", ""]),
        (true_or_false, {"1": True, "Yes": True, " on ": True, "false": False, "0": False, "": False},
         ["maybe", "2"]),
    ],
)
def test_converters(convert, good: dict, bad: list[str]):
    for text, value in good.items():
        assert convert(text) == value
    for text in bad:
        with pytest.raises(ValueError):
            convert(text)


def test_resolve_path(tmp_path: Path):
    assert resolve_path(None, tmp_path) is None
    assert resolve_path("", tmp_path) is None
    assert resolve_path("/abs/out", tmp_path) == Path("/abs/out")
    assert resolve_path("rel/out", tmp_path) == tmp_path / "rel" / "out"
    assert resolve_path("~/out", tmp_path) == Path.home() / "out"


# --------------------------------------------------------------------------------------------------- suite


def evaluation(instance_id: str, gold: str | None = None) -> dict:
    return {"instance_id": instance_id, "evaluation": {"func": "duckdb_match", "parameters": {
        "gold": gold or f"{instance_id}.duckdb", "condition_tabs": ["orders"], "condition_cols": [[0, 1]],
        "ignore_orders": [True]}}}


def instruction(instance_id: str) -> dict:
    return {"instance_id": instance_id, "instruction": f"Build orders for {instance_id}.", "type": "DBT"}


def write_lines(path: Path, lines: list[dict | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def write_suite(checkout: Path, ids: list[str], *, instructions: list | None = None, evaluations: list | None = None,
                no_example: tuple[str, ...] = (), no_gold: tuple[str, ...] = ()) -> Path:
    """A Spider2-shaped checkout (no real databases: the suite only checks that files exist)."""
    root = checkout / "spider2-dbt"
    for instance_id in ids:
        if instance_id not in no_example:
            (root / "examples" / instance_id).mkdir(parents=True)
        if instance_id not in no_gold:
            gold = root / "evaluation_suite" / "gold" / instance_id / f"{instance_id}.duckdb"
            gold.parent.mkdir(parents=True)
            gold.write_bytes(b"gold")
    write_lines(root / "examples" / "spider2-dbt.jsonl",
                instructions if instructions is not None else [instruction(i) for i in ids])
    write_lines(root / "evaluation_suite" / "gold" / "spider2_eval.jsonl",
                evaluations if evaluations is not None else [evaluation(i) for i in ids])
    return checkout


def test_the_suite_root_is_the_spider2_dbt_folder_of_a_checkout_or_that_folder_itself(tmp_path: Path):
    checkout = write_suite(tmp_path / "Spider2", ["a001"])
    expected = (checkout / "spider2-dbt").resolve()
    assert resolve_suite_root(checkout) == expected
    assert resolve_suite_root(checkout / "spider2-dbt") == expected


def test_a_folder_that_is_not_a_checkout_is_an_error_naming_both_places(tmp_path: Path):
    with pytest.raises(SuiteError) as error:
        resolve_suite_root(tmp_path)
    assert str(tmp_path / "examples" / "spider2-dbt.jsonl") in str(error.value)
    assert str(tmp_path / "spider2-dbt" / "examples" / "spider2-dbt.jsonl") in str(error.value)


def test_load_suite_reads_every_instance_in_instruction_order(tmp_path: Path):
    checkout = write_suite(tmp_path / "Spider2", ["b001", "a001"])
    suite = load_suite(checkout)
    root = (checkout / "spider2-dbt").resolve()
    assert suite.root == root
    assert [i.instance_id for i in suite.instances] == ["b001", "a001"]
    a001 = suite.by_id()["a001"]
    assert a001.instruction == "Build orders for a001."
    assert a001.example_dir == root / "examples" / "a001"
    assert a001.gold_dir == root / "evaluation_suite" / "gold" / "a001"
    assert a001.checks == Checks("a001.duckdb", ["orders"], [[0, 1]], [True])
    assert a001.gold_path == root / "evaluation_suite" / "gold" / "a001" / "a001.duckdb"
    assert (a001.problem, a001.problem_category) == (None, None)
    assert a001.suite_root == root
    assert suite.instructions_path == root / "examples" / "spider2-dbt.jsonl"
    assert suite.evaluation_path == root / "evaluation_suite" / "gold" / "spider2_eval.jsonl"


def test_a_checkout_without_the_evaluator_config_is_an_error(tmp_path: Path):
    checkout = write_suite(tmp_path / "Spider2", ["a001"])
    (checkout / "spider2-dbt" / "evaluation_suite" / "gold" / "spider2_eval.jsonl").unlink()
    with pytest.raises(SuiteError, match="spider2_eval.jsonl is missing"):
        load_suite(checkout)


def test_a_malformed_line_is_an_error_with_its_file_and_line_number(tmp_path: Path):
    lines = [instruction("a001"), "", '{"instance_id": "b001", "instruction": ']
    checkout = write_suite(tmp_path / "Spider2", ["a001", "b001"], instructions=lines)
    path = checkout.resolve() / "spider2-dbt" / "examples" / "spider2-dbt.jsonl"
    with pytest.raises(SuiteError, match=f"^{path}:3: not valid JSON"):
        load_suite(checkout)


@pytest.mark.parametrize("line", ["[1, 2]", '"a001"', '{"instruction": "x"}', '{"instance_id": 7}'])
def test_a_line_that_is_not_an_instance_object_is_an_error_with_its_line_number(tmp_path: Path, line: str):
    checkout = write_suite(tmp_path / "Spider2", ["a001"], evaluations=[evaluation("a001"), line])
    path = checkout.resolve() / "spider2-dbt" / "evaluation_suite" / "gold" / "spider2_eval.jsonl"
    with pytest.raises(SuiteError, match=f"^{path}:2: expected a JSON object with a string \"instance_id\""):
        load_suite(checkout)


def test_a_duplicate_instruction_id_is_an_error(tmp_path: Path):
    checkout = write_suite(tmp_path / "Spider2", ["a001"], instructions=[instruction("a001"), instruction("a001")])
    with pytest.raises(SuiteError, match=r"spider2-dbt.jsonl: instance_id 'a001' appears more than once"):
        load_suite(checkout)


def test_a_duplicate_evaluation_id_is_an_error(tmp_path: Path):
    checkout = write_suite(tmp_path / "Spider2", ["a001"], evaluations=[evaluation("a001"), evaluation("a001")])
    with pytest.raises(SuiteError, match=r"spider2_eval.jsonl: instance_id 'a001' appears more than once"):
        load_suite(checkout)


def test_per_instance_problems_stay_on_the_instance(tmp_path: Path):
    ids = ["ok001", "noeval001", "badfunc001", "noexample001", "nogold001", "nogoldname001"]
    evaluations = [
        evaluation("ok001"),
        {"instance_id": "badfunc001", "evaluation": {"func": "csv_match", "parameters": {"gold": "x.csv"}}},
        evaluation("noexample001"),
        evaluation("nogold001"),
        {"instance_id": "nogoldname001", "evaluation": {"func": "duckdb_match", "parameters": {}}},
        evaluation("noinstruction001"),
    ]
    checkout = write_suite(tmp_path / "Spider2", ids, evaluations=evaluations, no_example=("noexample001",),
                           no_gold=("nogold001",))
    suite = load_suite(checkout)
    assert [i.instance_id for i in suite.instances] == [*ids, "noinstruction001"]
    found = {i.instance_id: (i.problem_category, i.problem) for i in suite.instances}
    assert found["ok001"] == (None, None)
    expected = {
        "noeval001": (Category.CONFIG_ERROR, "has no evaluator entry"),
        "badfunc001": (Category.CONFIG_ERROR, "not a single duckdb_match"),
        "noexample001": (Category.CONFIG_ERROR, "the example project"),
        "nogold001": (Category.GOLD_MISSING, "the gold database"),
        "nogoldname001": (Category.CONFIG_ERROR, "no \"gold\" file name"),
        "noinstruction001": (Category.CONFIG_ERROR, "no instruction"),
    }
    for instance_id, (category, words) in expected.items():
        assert found[instance_id][0] is category, instance_id
        assert instance_id in found[instance_id][1] and words in found[instance_id][1]
    nogold = suite.by_id()["nogold001"]
    assert nogold.checks is not None and nogold.gold_path is not None
    assert suite.by_id()["noeval001"].gold_path is None
    assert suite.by_id()["noinstruction001"].instruction == ""


def test_parse_checks_accepts_a_single_entry_list_and_missing_optional_parameters():
    entry = {"func": "duckdb_match", "parameters": {"gold": "g.duckdb"}}
    assert parse_checks([entry]) == Checks("g.duckdb")
    assert parse_checks(entry) == Checks("g.duckdb")


@pytest.mark.parametrize(
    "entry",
    [None, [], [{"func": "duckdb_match", "parameters": {"gold": "a"}}] * 2, {"func": "duckdb_match"},
     {"func": "duckdb_match", "parameters": {"gold": 5}}, {"func": "string_match", "parameters": {"gold": "a"}}],
)
def test_parse_checks_refuses_anything_but_one_duckdb_match_with_a_gold_name(entry):
    with pytest.raises(ValueError):
        parse_checks(entry)
