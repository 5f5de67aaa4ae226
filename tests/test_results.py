"""The results folder tells one story: official layout, summary.json, JUnit, and evaluate.py agreeing with both."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pytest

OFFICIAL = Path(__file__).resolve().parents[2] / "shared" / "spider2-official"
needs_official = pytest.mark.skipif(
    not (OFFICIAL / "evaluate.py").is_file(), reason=f"the official evaluator is not at {OFFICIAL}"
)


def read_metadata(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results_metadata.jsonl").read_text().splitlines()]


def read_summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def official_score(out: Path, checkout: Path, tmp_path: Path) -> tuple[int, int]:
    """(passed, total) as the official evaluate.py prints them for a results folder."""
    stubs = tmp_path / "official-stubs"
    (stubs / "google" / "cloud").mkdir(parents=True, exist_ok=True)
    (stubs / "google" / "cloud" / "bigquery.py").write_text("")
    (stubs / "tqdm.py").write_text("def tqdm(iterable, **kwargs):\n    return iterable\n")
    completed = subprocess.run(
        [sys.executable, str(OFFICIAL / "evaluate.py"), "--result_dir", str(out),
         "--gold_dir", str(checkout / "spider2-dbt" / "evaluation_suite" / "gold")],
        cwd=OFFICIAL, env={"PYTHONPATH": f"{stubs}:{OFFICIAL}", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    _, passed, total = completed.stdout.strip().splitlines()[-1].split()
    return int(passed), int(total)


def folder_score(out: Path) -> tuple[int, int]:
    evaluate = read_summary(out)["folder"]["evaluate_py"]
    return evaluate["passed"], evaluate["total"]


def test_results_folder_has_the_official_layout(pytester, run, tiny_suite):
    run(f"--spider2-root={tiny_suite(['tiny001', 'tiny002'])}", "--spider2-agent=gold").assert_outcomes(passed=2)
    out = pytester.path / "spider2-results"
    assert read_metadata(out) == [
        {"instance_id": "tiny001", "answer_type": "file", "answer_or_path": "tiny.duckdb"},
        {"instance_id": "tiny002", "answer_type": "file", "answer_or_path": "tiny.duckdb"},
    ]
    with duckdb.connect(str(out / "tiny001" / "tiny.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (5,)
    assert sorted(p.name for p in out.iterdir()) == [".lock", ".staging", "logs", "report.html",
                                                     "results_metadata.jsonl", "summary.json", "tiny001", "tiny002"]
    assert list((out / ".staging").iterdir()) == []


FLAKY_HOOK = """
import os

def pytest_spider2dbt_run_agent(context):
    if context.instance_id in os.environ.get("FAIL_IDS", "").split():
        return 0
"""


@needs_official
@pytest.mark.long
def test_every_sequence_of_runs_leaves_a_folder_evaluate_py_scores_as_summary_json_says(
    pytester, run, tiny_suite, tmp_path, monkeypatch
):
    checkout = tiny_suite(["tiny001", "tiny002", "tiny003", "tiny004"])
    out = pytester.path / "spider2-results"
    pytester.makeconftest(FLAKY_HOOK)
    args = [f"--spider2-root={checkout}", "--spider2-agent=gold"]

    monkeypatch.setenv("FAIL_IDS", "tiny004")
    run(*args).assert_outcomes(passed=3, failed=1)
    assert official_score(out, checkout, tmp_path) == folder_score(out) == (3, 4)

    monkeypatch.setenv("FAIL_IDS", "tiny001 tiny004")
    partial = run(*args, "-k", "tiny001")
    partial.stdout.fnmatch_lines(["Spider2-DBT score: 0/1 (0.0%)",
                                  "Results folder * (4 instances, latest record of each):",
                                  "  score: 2/4 (50.0%)"])
    assert official_score(out, checkout, tmp_path) == folder_score(out) == (2, 4)
    assert [r["instance_id"] for r in read_summary(out)["instances"]] == ["tiny001", "tiny002", "tiny003", "tiny004"]

    monkeypatch.setenv("FAIL_IDS", "")
    run(*args, "--lf").assert_outcomes(passed=2)
    assert official_score(out, checkout, tmp_path) == folder_score(out) == (4, 4)

    judged = run(f"--spider2-root={checkout}", f"--spider2-results={out}")
    judged.assert_outcomes(passed=4)
    assert (out / "judge-summary.json").is_file() and folder_score(out) == (4, 4)


def test_summary_json_is_written_without_the_terminal_plugin(pytester, run, tiny_suite):
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-agent=gold", "-p", "no:terminal")
    assert result.ret == 0
    summary = read_summary(pytester.path / "spider2-results")
    assert summary["folder"]["passed"] == summary["folder"]["total"] == 1


def test_summary_is_printed_once_and_counts_every_category(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002", "tiny003"], tiny003={"gold": False})
    pytester.makeconftest(
        """
        def pytest_spider2dbt_run_agent(context):
            if context.instance_id == "tiny002":
                return 0
        """
    )
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "Spider2-DBT score: 1/3 (33.3%)",
            "  strict (whole rows): 1/3 (33.3%)",
            "  passed / evaluable (gold present): 1/2 (50.0%)",
            "  outcomes: 1 passed, 1 failed, 1 error",
            "  passed                 1  tiny001",
            "  table_missing          1  tiny002",
            "  gold_missing           1  tiny003",
            "  results folder *spider2-results: holds exactly this run; official evaluate.py on it: 1/2 (50.0%)*",
        ]
    )
    assert result.stdout.str().count("Spider2-DBT score:") == 1
    folder = read_summary(pytester.path / "spider2-results")["folder"]
    assert (folder["passed"], folder["total"], folder["evaluable"]) == (1, 3, 2)
    assert folder["instances_by_category"] == {"passed": ["tiny001"], "table_missing": ["tiny002"],
                                               "gold_missing": ["tiny003"]}


def test_a_corrupt_gold_is_not_evaluable(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    (checkout / "spider2-dbt" / "evaluation_suite" / "gold" / "tiny002" / "tiny.duckdb").write_bytes(b"junk" * 1000)
    result = run(f"--spider2-root={checkout}", "--spider2-agent=cmd:true")
    result.stdout.fnmatch_lines(["  passed / evaluable (gold present): 0/1 (0.0%)", "*gold_missing*tiny002*"])


def test_an_error_inside_the_harness_is_a_harness_error_never_a_skip(pytester, run, tiny_suite):
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def spider2_workspace():
            raise OSError(28, "No space left on device")
        """
    )
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-agent=gold")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*harness_error*tiny001*"])
    record = read_summary(pytester.path / "spider2-results")["instances"][0]
    assert record["category"] == "harness_error" and "No space left on device" in record["message"]


def test_strict_mode_headline_category_and_outcome_agree(pytester, run, tiny_suite, script_agent):
    scramble = script_agent(
        "scramble",
        "import os, duckdb; duckdb.connect(os.environ['SPIDER2_DB_PATH']).execute("
        "'CREATE TABLE orders AS SELECT id, (6 - id) * 3.0 AS amount, day FROM raw_orders')",
    )
    checkout = tiny_suite(["tiny001"])
    official = run(f"--spider2-root={checkout}", f"--spider2-agent={scramble}")
    official.assert_outcomes(passed=1)
    official.stdout.fnmatch_lines(["Spider2-DBT score: 1/1 (100.0%)", "  strict (whole rows): 0/1 (0.0%)"])

    strict = run(f"--spider2-root={checkout}", f"--spider2-agent={scramble}", "--spider2-strict", "-rf")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(
        ["spider2-dbt verdict: strict (whole rows)*", "Spider2-DBT score (strict, whole rows): 0/1 (0.0%)",
         "  official: 1/1 (100.0%)", "*strict_mismatch        1  tiny001*",
         "FAILED *tiny001: strict_mismatch*"]
    )


def test_junit_xml_carries_the_record_as_properties(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"], tiny002={"gold": False})
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--junitxml=spider2.xml",
                 "--spider2-sandbox=none")
    result.assert_outcomes(passed=1, errors=1)
    root = ET.parse(pytester.path / "spider2.xml").getroot()
    props = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in root.iter("testcase")
    }
    passed = props["test_instance[tiny001]"]
    assert {key: passed[key] for key in ("instance_id", "score", "strict_score", "category", "timed_out", "clock",
                                         "isolation", "agent_exit")} == {
        "instance_id": "tiny001", "score": "1", "strict_score": "1", "category": "passed", "timed_out": "false",
        "clock": "off", "isolation": "none", "agent_exit": "0"}
    assert len(passed["result_sha256"]) == 64
    assert props["test_instance[tiny002]"]["category"] == "gold_missing"


def test_summary_json_states_what_produced_the_score(pytester, run, tiny_suite):
    run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-agent=gold", "--spider2-sandbox=none")
    summary = read_summary(pytester.path / "spider2-results")
    provenance = summary["provenance"]
    assert set(provenance["versions"]) >= {"python", "pytest-spider2dbt", "pandas", "duckdb", "dbt-core", "dbt-duckdb"}
    assert len(provenance["evaluation_sha256"]) == len(provenance["instructions_sha256"]) == 64
    assert (provenance["agent"], provenance["isolation"], provenance["clock"]) == ("gold", "none", "off")
    assert "--spider2-agent=gold" in provenance["command_line"]
    assert len(summary["instances"][0]["result_sha256"]) == 64


def test_judging_a_submission_never_overwrites_the_runs_summary(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002", "tiny003"])
    run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--spider2-out=submission").assert_outcomes(passed=3)
    submission = pytester.path / "submission"
    before = (submission / "summary.json").read_bytes()
    metadata = submission / "results_metadata.jsonl"
    metadata.write_text("".join(line + "\n" for line in metadata.read_text().splitlines()[:2]))

    result = run(f"--spider2-root={checkout}", "--spider2-results=submission")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["spider2-dbt judging submission: 2 results (no agent runs)*",
                                 "Spider2-DBT score: 2/3 (66.7%)", "*no_result_db*tiny003*"])
    assert (submission / "summary.json").read_bytes() == before
    judged = json.loads((submission / "judge-summary.json").read_text())
    assert judged["folder"]["evaluate_py"] == {"passed": 2, "total": 2, "score": 1.0}
    assert not (pytester.path / "spider2-results").exists()


def test_a_submission_naming_a_file_outside_its_folder_is_refused(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001"])
    run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--spider2-out=submission")
    gold = checkout / "spider2-dbt" / "evaluation_suite" / "gold" / "tiny001" / "tiny.duckdb"
    entry = {"instance_id": "tiny001", "answer_type": "file", "answer_or_path": str(gold)}
    (pytester.path / "submission" / "results_metadata.jsonl").write_text(json.dumps(entry) + "\n")
    result = run(f"--spider2-root={checkout}", "--spider2-results=submission")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*tiny001: result_refused — *answer_or_path*is not a plain file name*"])


def slow_agent(script_agent) -> str:
    return script_agent(
        "slow",
        "import os, time, duckdb\ntime.sleep(float(os.environ.get('AGENT_SECONDS', '1')))\n"
        "with duckdb.connect(os.environ['SPIDER2_DB_PATH']) as con:\n"
        "    con.execute('CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders')\n",
    )


@needs_official
@pytest.mark.long
def test_a_killed_worker_is_a_harness_error_and_the_totals_stay_true(pytester, tiny_suite, script_agent, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv("AGENT_SECONDS", "0.2")
    checkout = tiny_suite([f"tiny{n:03d}" for n in range(1, 7)])
    pytester.makeconftest(
        """
        import os

        def pytest_spider2dbt_run_agent(context):
            if context.instance_id == "tiny003":
                os.kill(os.getpid(), 9)
        """
    )
    result = pytester.runpytest(f"--spider2-root={checkout}", f"--spider2-agent={slow_agent(script_agent)}", "-n", "2",
                                "--max-worker-restart=2", "-p", "no:hypothesispytest")
    result.stdout.fnmatch_lines(["*worker*crashed*tiny003*"])
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["Spider2-DBT score: 5/6 (83.3%)", "*harness_error          1  tiny003*"])
    out = pytester.path / "spider2-results"
    summary = read_summary(out)
    assert summary["folder"]["total"] == 6
    assert official_score(out, checkout, tmp_path) == folder_score(out) == (5, 5)


@needs_official
@pytest.mark.long
def test_a_killed_controller_leaves_a_folder_that_tells_the_truth(pytester, tiny_suite, script_agent, tmp_path,
                                                                   monkeypatch):
    checkout = tiny_suite([f"tiny{n:03d}" for n in range(1, 7)])
    monkeypatch.setenv("AGENT_SECONDS", "1")
    sweep = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--spider2-root={checkout}",
         f"--spider2-agent={slow_agent(script_agent)}", "-n", "2"],
        cwd=pytester.path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    out = pytester.path / "spider2-results"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / "results_metadata.jsonl").exists():
        time.sleep(0.1)
    while time.monotonic() < deadline and len(read_metadata(out)) < 2:
        time.sleep(0.1)
    sweep.send_signal(signal.SIGKILL)
    sweep.wait(timeout=30)
    wait_until_quiet(out)
    assert 2 <= folder_score(out)[1] < 6
    assert official_score(out, checkout, tmp_path) == folder_score(out)
    assert len(read_summary(out)["instances"]) == len(read_metadata(out))


def wait_until_quiet(out: Path, quiet_seconds: float = 3.0, limit: float = 60.0) -> None:
    """Wait until nothing in the folder changes for a while (workers of a killed controller finish or die)."""
    deadline = time.monotonic() + limit
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        state = [(p.name, p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()]
        if state != last:
            last, since = state, time.monotonic()
        elif time.monotonic() - since > quiet_seconds:
            return
        time.sleep(0.2)


def test_judging_reports_a_result_that_changed_since_it_was_filed(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--spider2-out=submission").assert_outcomes(passed=2)
    with duckdb.connect(str(pytester.path / "submission" / "tiny002" / "tiny.duckdb")) as con:
        con.execute("CREATE TABLE planted AS SELECT 1 AS x")
    result = run(f"--spider2-root={checkout}", "--spider2-results=submission")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["  WARNING: tiny002/tiny.duckdb changed since it was filed: its sha256 is *"])
    judged = json.loads((pytester.path / "submission" / "judge-summary.json").read_text())["instances"]
    assert [bool(r["tampered"]) for r in judged] == [False, True]


def test_a_new_run_reconciles_a_folder_left_between_its_two_renames(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002", "tiny003"])
    run(f"--spider2-root={checkout}", "--spider2-agent=gold").assert_outcomes(passed=3)
    out = pytester.path / "spider2-results"
    summary = read_summary(out)
    summary["instances"] = [r for r in summary["instances"] if r["instance_id"] != "tiny002"]  # listed, unknown
    summary["instances"][0]["result_file"] = "tiny001/tiny.duckdb"
    (out / "summary.json").write_text(json.dumps(summary))
    metadata = [e for e in read_metadata(out) if e["instance_id"] != "tiny003"]  # recorded as filed, not listed
    (out / "results_metadata.jsonl").write_text("".join(json.dumps(e) + "\n" for e in metadata))

    run(f"--spider2-root={checkout}", "--collect-only")
    records = {r["instance_id"]: r for r in read_summary(out)["instances"]}
    assert records["tiny002"]["agent"] == "recovered" and records["tiny002"]["score"] == 1
    assert records["tiny002"]["message"].startswith("judged again from the filed result after an interrupted run")
    assert records["tiny003"]["result_file"] is None
    assert folder_score(out) == (2, 2)
