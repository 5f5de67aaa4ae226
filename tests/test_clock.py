"""`--spider2-clock`: agents (and real dbt inside them) see a frozen date through libfaketime; the judge never does."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import duckdb
import pytest

# Loaded here, before any in-process inner run: pytester unloads modules first imported during one, and the judge's
# numpy cannot be loaded twice in a process.
import pytest_spider2dbt.match  # noqa: F401
from pytest_spider2dbt.clock import OFF, Clock, ClockError, faketime_environment, library_path, parse_clock
from pytest_spider2dbt.dbt import QUIET_DBT, dbt_command

# The date the gold was built on: long enough ago that a model built today differs from it.
GOLD_DAY = dt.date(2023, 4, 5)
INSTANCE = "clock001"


# ------------------------------------------------------------------------------------------------ plain functions


def test_a_date_applies_to_every_instance(tmp_path):
    clock = parse_clock("2023-04-05", tmp_path, ["a001"])
    assert clock.date_for("a001") == clock.date_for("other") == GOLD_DAY
    assert clock.label == clock.label_for("a001") == "2023-04-05"


def test_off_is_the_official_protocol(tmp_path):
    clock = parse_clock(" OFF ", tmp_path, ["a001"])
    assert clock == Clock()
    assert clock.date_for("a001") is None and clock.label == clock.label_for("a001") == OFF


def test_a_clock_file_dates_some_instances_and_leaves_the_others_off(tmp_path):
    (tmp_path / "dates.txt").write_text("# built on\na001  2023-04-05   # the gold's day\n\nb001 2024-01-31\n")
    clock = parse_clock("dates.txt", tmp_path, ["a001", "b001", "c001"])
    assert clock.date_for("a001") == GOLD_DAY and clock.date_for("b001") == dt.date(2024, 1, 31)
    assert clock.date_for("c001") is None and clock.label_for("c001") == OFF
    assert clock.label == f"per instance from {tmp_path / 'dates.txt'} (2 dates)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a001 2023-04-05\nb001 20230405\n", r"dates.txt:2: expected `instance_id YYYY-MM-DD`, got 'b001 20230405'"),
        ("a001 2023-02-30\n", r"dates.txt:1: expected `instance_id YYYY-MM-DD`, got 'a001 2023-02-30'"),
        ("a001 2023-04-05 extra\n", r"dates.txt:1: expected `instance_id YYYY-MM-DD`"),
        ("\n\nz999 2023-04-05\n", r"dates.txt:3: unknown instance id 'z999'"),
        ("a001 2023-04-05\na001 2023-04-06\n", r"dates.txt:2: a001 already has a date on line 1"),
    ],
)
def test_a_bad_clock_file_line_is_named(tmp_path, text, message):
    (tmp_path / "dates.txt").write_text(text)
    with pytest.raises(ClockError, match=message):
        parse_clock("dates.txt", tmp_path, ["a001"])


@pytest.mark.parametrize("value", ["2023-13-01", "yesterday", "missing.txt"])
def test_a_value_that_is_neither_off_a_date_nor_a_file_is_refused(tmp_path, value):
    with pytest.raises(ClockError, match=value):
        parse_clock(value, tmp_path, ["a001"])


def test_the_faketime_environment_preloads_the_packaged_library():
    env = faketime_environment(GOLD_DAY)
    assert Path(env["LD_PRELOAD"]) == library_path() and library_path().is_file()
    assert env["FAKETIME"] == "@2023-04-05 00:00:00"
    seen = subprocess.run(["date", "+%F"], env={**os.environ, **env}, capture_output=True, text=True, check=True)
    assert seen.stdout.strip() == "2023-04-05"


# ------------------------------------------------------------------------------------------------ through pytest

PROJECT = {
    "dbt_project.yml": "name: clock\nversion: '1.0.0'\nconfig-version: 2\nprofile: clock\n"
                       "models:\n  clock:\n    +materialized: table\n",
    "profiles.yml": "clock:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: './clock.duckdb'\n"
                    "      threads: 1\n",
    # How many days old each patient is: the value depends on the day the model is built.
    "models/patient_ages.sql": "select id, date_diff('day', birth_date, current_date) as age_days from patients\n",
}


def write_clock_suite(root: Path) -> Path:
    """A Spider2-shaped checkout with one instance whose model uses current_date; the gold is built by real dbt on
    GOLD_DAY under libfaketime. Returns the checkout root."""
    suite_root = root / "spider2-dbt"
    example = suite_root / "examples" / INSTANCE
    for relative_path, text in PROJECT.items():
        (example / relative_path).parent.mkdir(parents=True, exist_ok=True)
        (example / relative_path).write_text(text)
    with duckdb.connect(str(example / "clock.duckdb")) as con:
        con.execute("CREATE TABLE patients AS SELECT i AS id, DATE '1990-01-01' + (i * 400)::INTEGER AS birth_date "
                    "FROM range(1, 6) t(i)")
    gold_dir = suite_root / "evaluation_suite" / "gold" / INSTANCE
    gold_dir.mkdir(parents=True)
    build = root / "gold-build"
    shutil.copytree(example, build)
    subprocess.run(dbt_command("build"), cwd=build, env={**os.environ, **QUIET_DBT, **faketime_environment(GOLD_DAY)},
                   check=True, capture_output=True, timeout=300)
    shutil.copy(build / "clock.duckdb", gold_dir / "clock.duckdb")
    instruction = {"instance_id": INSTANCE, "instruction": "Build patient_ages.", "type": "DBT"}
    (suite_root / "examples" / "spider2-dbt.jsonl").write_text(json.dumps(instruction) + "\n")
    parameters = {"gold": "clock.duckdb", "condition_tabs": ["patient_ages"], "condition_cols": [[0, 1]],
                  "ignore_orders": [True]}
    evaluation = {"instance_id": INSTANCE, "evaluation": {"func": "duckdb_match", "parameters": parameters}}
    (gold_dir.parent / "spider2_eval.jsonl").write_text(json.dumps(evaluation) + "\n")
    return root


@pytest.fixture(scope="module")
def clock_suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per test session, shared by xdist workers (one builds while the others wait): dbt is the slow part
    of these tests."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "clock-suite"
    with (shared / "clock-suite.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "built").exists():
            shutil.rmtree(root, ignore_errors=True)
            write_clock_suite(root)
            (root / "built").touch()
    return root


@pytest.mark.long
def test_the_gold_holds_ages_on_its_build_day(clock_suite):
    gold = clock_suite / "spider2-dbt" / "evaluation_suite" / "gold" / INSTANCE / "clock.duckdb"
    with duckdb.connect(str(gold), read_only=True) as con:
        assert con.execute("SELECT age_days FROM patient_ages WHERE id = 1").fetchone() == (
            (GOLD_DAY - dt.date(1991, 2, 5)).days,
        )


NO_BWRAP = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap is not installed: apt-get install bubblewrap (Debian/Ubuntu) or dnf install bubblewrap",
)
# The sandbox does not change how a build with the real clock fails, so that case runs once, without it.
RUNS = [
    pytest.param(OFF, "none", id="off-none"),
    pytest.param(GOLD_DAY.isoformat(), "none", id="frozen-none"),
    pytest.param(GOLD_DAY.isoformat(), "bwrap", id="frozen-bwrap", marks=NO_BWRAP),
]


@pytest.mark.long
@pytest.mark.parametrize(("clock", "sandbox"), RUNS)
def test_real_dbt_matches_a_date_dependent_gold_only_under_its_clock(pytester, run, clock_suite, clock, sandbox):
    result = run(f"--spider2-root={clock_suite}", "--spider2-agent=dbt", f"--spider2-sandbox={sandbox}",
                 f"--spider2-clock={clock}", "--junitxml=out.xml")
    if clock == OFF:
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*patient_ages*"])
    else:
        result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"spider2-dbt verdict: official; clock: {clock}"])
    summary = json.loads((pytester.path / "spider2-results" / "summary.json").read_text())
    assert [record["clock"] for record in summary["instances"]] == [clock]
    assert f'name="clock" value="{clock}"' in (pytester.path / "out.xml").read_text()


# The agent leaves a view whose value is computed when it is read: by the judge, at judge time.
VIEW_AGENT = textwrap.dedent(
    """
    import os, duckdb
    with duckdb.connect(os.environ["SPIDER2_DB_PATH"]) as con:
        con.execute("CREATE OR REPLACE VIEW orders AS SELECT current_date AS day")
    """
)


def test_the_judge_reads_with_the_real_clock(pytester, run, tiny_suite, script_agent):
    checkout = tiny_suite(["tiny001"])
    gold = checkout / "spider2-dbt" / "evaluation_suite" / "gold" / "tiny001" / "tiny.duckdb"
    with duckdb.connect(str(gold)) as con:
        con.execute("CREATE OR REPLACE TABLE orders AS SELECT current_date AS day")
    evaluation = checkout / "spider2-dbt" / "evaluation_suite" / "gold" / "spider2_eval.jsonl"
    evaluation.write_text(evaluation.read_text().replace("[[0, 1, 2]]", "[[0]]"))
    before = {name: os.environ.get(name) for name in ("LD_PRELOAD", "FAKETIME")}

    result = run(f"--spider2-root={checkout}", f"--spider2-agent={script_agent('view', VIEW_AGENT)}",
                 "--spider2-sandbox=none", "--spider2-clock=2001-02-03")
    result.assert_outcomes(passed=1)
    assert {name: os.environ.get(name) for name in before} == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tiny001 2023-04-05\ntiny001 soon\n", "*dates.txt:2: expected `instance_id YYYY-MM-DD`, got 'tiny001 soon'*"),
        ("tiny001 2023-04-05\n# ours\ntiny404 2023-04-05\n", "*dates.txt:3: unknown instance id 'tiny404'*"),
    ],
)
def test_a_bad_clock_file_is_a_usage_error_naming_the_line(pytester, run, tiny_suite, text, message):
    checkout = tiny_suite(["tiny001"])
    (pytester.path / "dates.txt").write_text(text)
    result = run(f"--spider2-root={checkout}", "--spider2-clock=dates.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
