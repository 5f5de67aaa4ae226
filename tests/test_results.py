"""The results folder (official submission layout), summary.json, the terminal summary and JUnit properties."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import duckdb


def read_metadata(out):
    return [json.loads(line) for line in (out / "results_metadata.jsonl").read_text().splitlines()]


def test_results_folder_has_the_official_layout(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    run(f"--spider2-root={checkout}", "--spider2-agent=gold").assert_outcomes(passed=2)
    out = pytester.path / "spider2-results"
    assert sorted(read_metadata(out), key=lambda e: e["instance_id"]) == [
        {"instance_id": "tiny001", "answer_type": "file", "answer_or_path": "tiny.duckdb"},
        {"instance_id": "tiny002", "answer_type": "file", "answer_or_path": "tiny.duckdb"},
    ]
    with duckdb.connect(str(out / "tiny001" / "tiny.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (5,)


def test_out_option_and_metadata_survive_a_partial_rerun(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    out = pytester.path / "elsewhere"
    run(f"--spider2-root={checkout}", "--spider2-agent=gold", f"--spider2-out={out}", "-k", "tiny001")
    run(f"--spider2-root={checkout}", "--spider2-agent=gold", f"--spider2-out={out}", "-k", "tiny002")
    assert sorted(e["instance_id"] for e in read_metadata(out)) == ["tiny001", "tiny002"]


def test_summary_is_printed_once_and_written_to_summary_json(pytester, run, tiny_suite):
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
            "  passed / evaluable (gold present): 1/2 (50.0%)",
            "*passed*1",
            "*table_missing*1",
            "*gold_missing*1",
        ]
    )
    assert result.stdout.str().count("Spider2-DBT score:") == 1
    summary = json.loads((pytester.path / "spider2-results" / "summary.json").read_text())
    assert (summary["passed"], summary["total"], summary["evaluable"]) == (1, 3, 2)
    assert summary["categories"]["gold_missing"] == 1
    assert [i["category"] for i in summary["instances"]] == ["passed", "table_missing", "gold_missing"]


def test_junit_xml_carries_properties_under_xunit2(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"], tiny002={"gold": False})
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--junitxml=spider2.xml")
    result.assert_outcomes(passed=1, errors=1)
    root = ET.parse(pytester.path / "spider2.xml").getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    props = {
        name: {p.get("name"): p.get("value") for p in case.iter("property")} for name, case in cases.items()
    }
    assert props["test_instance[tiny001]"]["instance_id"] == "tiny001"
    assert props["test_instance[tiny001]"]["score"] == "1"
    assert props["test_instance[tiny001]"]["category"] == "passed"
    assert float(props["test_instance[tiny001]"]["agent_seconds"]) >= 0
    assert props["test_instance[tiny002]"]["category"] == "gold_missing"
