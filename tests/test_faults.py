"""Bad input and faults: the sweep keeps going, reports clearly and loses nothing."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def db_agent(script_agent):
    """Factory: an agent script that starts with `duckdb` imported and `db` naming the profile's database."""
    return lambda name, body: script_agent(name, "import os, duckdb\ndb = os.environ['SPIDER2_DB_PATH']\n" + body)


def test_data_left_only_in_the_write_ahead_log_is_collected(pytester, run, tiny_suite, db_agent):
    checkout = tiny_suite(["tiny001"])
    agent = db_agent(
        "wal_only",
        "con = duckdb.connect(db)\n"
        "con.execute('SET checkpoint_threshold = \"1GB\"')\n"
        "con.execute('CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders')\n"
        "assert os.path.exists(db + '.wal')\n"
        "os._exit(0)  # no clean close: the table lives only in the WAL\n",
    )
    run(f"--spider2-root={checkout}", f"--spider2-agent={agent}").assert_outcomes(passed=1)


def test_database_held_open_by_a_leftover_process_is_collected(pytester, run, tiny_suite, db_agent):
    checkout = tiny_suite(["tiny001"])
    holder = db_agent(
        "holder",
        "import time\ncon = duckdb.connect(db)\n"
        "con.execute('CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders')\n"
        "time.sleep(600)\n",
    )
    result = run(f"--spider2-root={checkout}", f"--spider2-agent={holder} & sleep 3")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("os.remove(db)", "*tiny001*no_result_db*"),
        ("open(db, 'wb').write(b'not a database at all' * 100)", "*tiny001*no_result_db*not a DuckDB database*"),
    ],
)
def test_agent_that_deletes_or_corrupts_the_database(pytester, run, tiny_suite, db_agent, damage, message):
    checkout = tiny_suite(["tiny001", "tiny002"])
    agent = db_agent("damage", f"if os.environ['SPIDER2_INSTANCE_ID'] == 'tiny001':\n    {damage}\n")
    result = run(f"--spider2-root={checkout}", f"--spider2-agent={agent}")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([message])


def test_duplicate_instance_ids_are_a_usage_error(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    instructions = checkout / "spider2-dbt" / "examples" / "spider2-dbt.jsonl"
    first = instructions.read_text().splitlines()[0]
    instructions.write_text(instructions.read_text() + first + "\n")
    result = run(f"--spider2-root={checkout}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*spider2-dbt.jsonl: instance_id 'tiny001' appears more than once*"])


def test_instruction_without_evaluator_entry_and_the_reverse(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002", "tiny003"])
    instructions = checkout / "spider2-dbt" / "examples" / "spider2-dbt.jsonl"
    evaluation = checkout / "spider2-dbt" / "evaluation_suite" / "gold" / "spider2_eval.jsonl"
    instructions.write_text("\n".join(instructions.read_text().splitlines()[:2]) + "\n")
    evaluation.write_text("\n".join(evaluation.read_text().splitlines()[1:]) + "\n")
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "-rE")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        ["*tiny001 has no evaluator entry*", "*tiny003 has an evaluator entry*but no instruction*"]
    )


def test_corrupt_gold_fails_that_instance_only(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    gold = checkout / "spider2-dbt" / "evaluation_suite" / "gold" / "tiny002" / "tiny.duckdb"
    gold.write_bytes(b"garbage" * 1000)
    result = run(f"--spider2-root={checkout}", "--spider2-agent=cmd:true")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*tiny002*gold_missing*"])


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [
        ("condition_cols", [[0, 7]], "*tiny001*config_error*index 7*orders*"),
        ("ignore_orders", [True, False], "*tiny001*config_error*ignore_orders*"),
        ("condition_cols", [[0], [1]], "*tiny001*config_error*condition_cols*"),
    ],
)
def test_inconsistent_evaluator_entry_is_config_error(pytester, run, tiny_suite, parameter, value, message):
    checkout = tiny_suite(["tiny001", "tiny002"])
    evaluation = checkout / "spider2-dbt" / "evaluation_suite" / "gold" / "spider2_eval.jsonl"
    first, second = (json.loads(line) for line in evaluation.read_text().splitlines())
    first["evaluation"]["parameters"][parameter] = value
    evaluation.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([message])
