"""report.html and the pytest-html extras, rendered from documents (no browser), and the conversation parsing."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
from pathlib import Path

import pytest

from pytest_spider2dbt.agents import claude
from pytest_spider2dbt.categories import Category
from pytest_spider2dbt.match.report import (
    CandidateReason,
    ColumnReport,
    MatchReport,
    Sample,
    TableReport,
    TableStatus,
)
from pytest_spider2dbt.report import html as report_html
from pytest_spider2dbt.report import html_section as report_html_section
from pytest_spider2dbt.report import store
from pytest_spider2dbt.report.records import Record

PROVENANCE = {"agent": "cmd:agent.py", "isolation": "bwrap", "clock": "off", "verdict": "official",
              "versions": {"pytest-spider2dbt": "0.2.0", "duckdb": "1.2.0"}, "command_line": ["--spider2-demo"]}
HOSTILE = "<script>window.pwned = 1</script><img src=x onerror=alert(1)>"


def value_mismatch_report(instance_id: str, *, failing: int = 1, gold: str = "12.50", result: str = "12.75",
                          column_name: str = "amount") -> dict:
    """The judge's report for a table whose failing columns each show one differing pair of values."""
    columns = [ColumnReport(index=0, name="id", matched=True, result_column="id", result_index=0)]
    columns += [
        ColumnReport(index=n, name=column_name if n == 1 else f"col_{n}", matched=False,
                     candidate=column_name if n == 1 else f"col_{n}", candidate_index=n,
                     candidate_reason=CandidateReason.SAME_NAME, agreeing=3, compared=5, positions_sorted=True,
                     samples=[Sample(position=2, gold=gold, result=result)])
        for n in range(1, failing + 1)
    ]
    table = TableReport(name="orders", status=TableStatus.VALUE_MISMATCH, ignore_order=True, gold_rows=5,
                        result_rows=5, columns=columns, strict_passed=False,
                        message=f"gold column 1 '{column_name}' has no matching result column")
    return MatchReport(score=0, strict_score=0, category=Category.VALUE_MISMATCH,
                       message=f"table orders: gold column 1 '{column_name}' has no matching result column",
                       tables=[table], instance_id=instance_id, result_path=f"/results/{instance_id}/tiny.duckdb",
                       gold_path="/gold/tiny.duckdb").to_dict()


def missing_table_report(instance_id: str, result_tables: list[str]) -> dict:
    table = TableReport(name="orders", status=TableStatus.MISSING, message="table 'orders' is missing",
                        result_tables=result_tables, found_elsewhere=["main_marts.orders"])
    return MatchReport(score=0, strict_score=0, category=Category.TABLE_MISSING,
                       message="table 'orders' is missing from the result", tables=[table],
                       instance_id=instance_id).to_dict()


def record(instance_id: str, category: Category = Category.PASSED, **values) -> Record:
    passed = category is Category.PASSED
    defaults = dict(score=int(passed), strict_score=int(passed), outcome="passed" if passed else "failed",
                    agent="cmd:agent.py", agent_exit=0, agent_seconds=12.5, evaluable=True,
                    result_file=f"{instance_id}/tiny.duckdb")
    return Record(instance_id=instance_id, category=category, **{**defaults, **values})


def failing(instance_id: str, log_dir: Path | None = None, *, gold: str = "12.50", result: str = "12.75",
            column_name: str = "amount", failing_columns: int = 1, **values) -> Record:
    report = value_mismatch_report(instance_id, failing=failing_columns, gold=gold, result=result,
                                   column_name=column_name)
    return record(instance_id, Category.VALUE_MISMATCH, message=report["message"], report=report,
                  log_dir=str(log_dir) if log_dir else None, **values)


def render(records: list[Record], **extra) -> str:
    return report_html.render_report(store.document(records, strict=False, provenance=PROVENANCE, **extra))


def section(page: str, anchor: str) -> str:
    found = re.search(rf'<section class="s2 instance" id="{anchor}".*?</section>', page, re.S)
    assert found, f"no section {anchor}"
    return found.group(0)


def table_rows(page: str) -> list[str]:
    body = page.split('<table id="instance-table"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr data-category=.*?</tr>", body, re.S)


def write_logs(log_dir: Path, **logs: str) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    for name, text in logs.items():
        (log_dir / name.replace("_", ".")).write_text(text)
    return log_dir


# ------------------------------------------------------------------------------------------ the page


def test_the_page_states_both_denominators_the_strict_score_time_cost_and_provenance():
    records = [record("a001", cost_usd=0.5, turns=10), record("a002", Category.GOLD_MISSING, evaluable=False),
               failing("a003", cost_usd=0.25, turns=4)]
    page = render(records)
    for expected in ("official score", "1/3 (33.3%)", "passed / evaluable (gold present)", "1/2 (50.0%)",
                     "strict (whole rows)", "agent cost", "$0.75 over 2 runs", "14 turns", "agent time",
                     "cmd:agent.py", "bwrap", "duckdb 1.2.0", "pytest --spider2-demo"):
        assert expected in page, expected


def test_under_strict_the_strict_score_comes_first():
    document = store.document([record("a001", strict_score=0)], strict=True, provenance=PROVENANCE)
    page = report_html.render_report(document)
    assert page.index("strict (whole rows)") < page.index("official score")


def test_every_record_is_a_row_and_every_category_a_bar_and_a_filter_option():
    records = [record("a001"), failing("a002"), record("a003", Category.AGENT_TIMEOUT, timed_out=True),
               record("a004", Category.SKIPPED, agent="", outcome="skipped")]
    page = render(records)
    rows = table_rows(page)
    assert [re.search(r'data-category="(\w+)"', row).group(1) for row in rows] == [
        "passed", "value_mismatch", "agent_timeout", "skipped"]
    assert ">timeout<" in rows[2] and "<td></td>" in rows[3]
    for category in ("passed", "value_mismatch", "agent_timeout", "skipped"):
        assert f'<option value="{category}">' in page
        assert f'href="#category={category}"' in page
    assert 'href="#i-a002"' in rows[1] and 'href="#' not in rows[0]


def test_a_failing_instance_gets_a_section_with_its_match_report_and_a_passing_one_none():
    page = render([record("a001"), failing("a002", gold="12.50", result="12.75")])
    assert 'id="i-a001"' not in page
    shown = section(page, "i-a002")
    assert "table <code>orders</code>" in shown and "value_mismatch" in shown
    assert "<code>amount</code> <span class=\"muted\">(same name)</span>" in shown
    assert "3 of 5 positions agree" in shown
    assert '<td class="value differs">12.<mark class="part">75</mark></td>' in shown
    assert '<td class="value">12.<mark class="part">50</mark></td>' in shown
    assert "sorted pos" in shown and "hint: compare the SQL" in shown
    assert 'href="logs/' not in shown and 'href="a002/tiny.duckdb"' in shown


def test_a_value_that_is_a_prefix_of_the_other_marks_the_gap():
    shown = section(render([failing("a001", gold="abc ", result="abc")]), "i-a001")
    assert '<td class="value differs">abc<mark class="gap"></mark></td>' in shown


def test_failing_columns_are_capped_like_the_text_report():
    from pytest_spider2dbt.match.report import MAX_FAILING_COLUMNS_SHOWN

    shown = section(render([failing("a001", failing_columns=MAX_FAILING_COLUMNS_SHOWN + 3)]), "i-a001")
    assert shown.count('<tr class="unmatched">') == MAX_FAILING_COLUMNS_SHOWN
    assert "… and 3 more failing column(s)" in shown


def test_a_missing_table_lists_the_result_tables_capped_and_where_it_was_found():
    from pytest_spider2dbt.match.report import MAX_TABLES_LISTED

    report = missing_table_report("a001", [f"t{n}" for n in range(MAX_TABLES_LISTED + 4)])
    shown = section(render([record("a001", Category.TABLE_MISSING, report=report)]), "i-a001")
    assert "same name in another schema: <code>main_marts.orders</code>" in shown
    assert shown.count("<code>t") == MAX_TABLES_LISTED and "and 4 more" in shown
    assert "build the model (dbt run)" in shown


def test_log_tails_of_a_failing_instance_are_shown_and_linked(tmp_path):
    log_dir = write_logs(tmp_path / "out" / "logs" / "a001", agent_stdout="dbt run\nDone. PASS=3 ERROR=1\n",
                         agent_stderr="")
    shown = section(render([failing("a001", log_dir=log_dir)]), "i-a001")
    assert '<a href="logs/a001/">agent logs</a>' in shown
    assert '<a href="logs/a001/agent.stdout">agent.stdout</a>' in shown
    assert "Done. PASS=3 ERROR=1" in shown and "agent.stderr" not in shown


def test_everything_an_agent_or_a_database_wrote_is_escaped(tmp_path):
    log_dir = write_logs(tmp_path / "logs" / "a001", agent_stdout=HOSTILE + "\n")
    hostile = failing("a001", log_dir=log_dir, gold=HOSTILE, result="x" + HOSTILE, column_name=HOSTILE)
    hostile.message = HOSTILE
    hostile.model = HOSTILE
    page = render([hostile], baseline={"path": HOSTILE, "newly_passing": [HOSTILE], "newly_failing": [],
                                       "p_value": 1.0})
    assert page.count("<script") == 1 and "<img" not in page
    assert html.escape(HOSTILE, quote=False) in page


def test_the_only_script_is_the_one_the_content_security_policy_allows():
    page = render([record("a001"), failing("a002")])
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = html.unescape(policy)
    assert "default-src 'none'" in policy and f"script-src 'sha256-{digest}'" in policy
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


def test_a_multi_round_document_links_into_round_folders_and_has_a_grid():
    records = [record("a001", round=1), failing("a001", round=2), record("a002", round=1),
               record("a002", round=2)]
    page = render(records)
    assert 'id="i-a001-round-2"' in page and 'href="round-2/a001/tiny.duckdb"' in page
    grid = page.split('<table class="grid">', 1)[1].split("</table>", 1)[0]
    assert grid.count('<td class="pass"') == 3 and grid.count('<td class="fail"') == 1
    assert 'href="#i-a001-round-2"' in grid
    assert "pass@1" in page and "pass@2" in page and "1/2" in table_rows(page)[1]


def test_the_baseline_flips_are_shown():
    baseline = {"path": "before/summary.json", "newly_passing": ["a001"], "newly_failing": ["a002", "a003"],
                "p_value": 1.0}
    document = store.document([record("a001")], strict=False, provenance=PROVENANCE, baseline=baseline)
    assert document["baseline"] == baseline
    page = report_html.render_report(document)
    assert "Compared with <code>before/summary.json</code>: 1 newly passing, 2 newly failing" in page
    assert "within chance" in page and "a002, a003" in page
    assert "baseline" not in store.document([record("a001")], strict=False, provenance=PROVENANCE)


def test_an_empty_document_renders():
    page = report_html.render_report(store.document([], strict=False, provenance={}))
    assert "0 instances" in page and "0/0 (0.0%)" in page


def test_a_section_is_rendered_again_when_its_record_changes_and_only_then(tmp_path):
    log_dir = write_logs(tmp_path / "logs" / "a001", agent_stdout="first\n")
    filed = failing("a001", log_dir=log_dir)
    assert "first" in section(render([filed]), "i-a001")
    (log_dir / "agent.stdout").write_text("second, longer\n")
    assert "first" in section(render([filed]), "i-a001")
    again = section(render([failing("a001", log_dir=log_dir, result="99.5", agent_seconds=1.0)]), "i-a001")
    assert "99.5" in again and "second, longer" in again


# --------------------------------------------------------------------------------------- the conversation


def write_stream(path: Path, events: list[dict | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in events))
    return path


def assistant(message_id: str, *blocks: dict, parent: str | None = None) -> dict:
    return {"type": "assistant", "parent_tool_use_id": parent, "message": {"id": message_id, "content": list(blocks)}}


def tool_result(call_id: str, content, is_error: bool = False) -> dict:
    return {"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": call_id,
                                                     "content": content, "is_error": is_error}]}}


STREAM = [
    {"type": "system", "subtype": "init", "model": "claude-sonnet-4-5"},
    assistant("m1", {"type": "text", "text": "Let me look at the project."}),
    assistant("m1", {"type": "tool_use", "id": "t1", "name": "Bash",
                     "input": {"command": "ls models", "description": "list"}}),
    tool_result("t1", "staging\nmarts"),
    "not json at all",
    assistant("m2", {"type": "tool_use", "id": "t2", "name": "Read", "input": {"file_path": "models/a.sql"}}),
    tool_result("t2", [{"type": "text", "text": "select 1"}, {"type": "image"}], is_error=True),
    assistant("m3", {"type": "text", "text": "sub-agent here"}, parent="t9"),
    {"type": "result", "subtype": "success", "is_error": False, "result": "Done.", "num_turns": 3,
     "total_cost_usd": 0.125, "duration_ms": 61000},
]


def test_a_stream_json_log_is_parsed_into_turns_tool_calls_and_the_final_result(tmp_path):
    conversation = claude.conversation_of(write_stream(tmp_path / "agent.jsonl", STREAM))
    assert conversation.model == "claude-sonnet-4-5"
    first, second, third = conversation.turns
    assert first.texts == ["Let me look at the project."]
    assert [(c.name, c.summary, c.input, c.output, c.is_error) for c in first.tool_calls] == [
        ("Bash", "ls models", "command: ls models\ndescription: list", "staging\nmarts", False)]
    assert (second.tool_calls[0].output, second.tool_calls[0].is_error) == ("select 1\n[image block]", True)
    assert third.subagent and not first.subagent
    assert conversation.final == claude.FinalResult("success", False, "Done.", 0.125, 3, 61.0)


def test_a_conversation_is_capped_however_much_the_agent_printed(tmp_path, monkeypatch):
    monkeypatch.setattr(claude, "MAX_TURNS", 3)
    events = [assistant(f"m{n}", {"type": "tool_use", "id": f"t{n}", "name": "Bash", "input": {"command": "x"}})
              for n in range(5)]
    events += [tool_result("t0", "y" * 100_000), assistant("m9", {"type": "text", "text": "z" * 100_000})]
    conversation = claude.conversation_of(write_stream(tmp_path / "agent.jsonl", events))
    assert len(conversation.turns) == 3 and conversation.turns_not_shown == 3
    output = conversation.turns[0].tool_calls[0].output
    assert len(output) < claude.OUTPUT_HEAD + claude.OUTPUT_TAIL + 100 and "characters ...]" in output


def test_a_huge_log_is_read_from_its_start_and_its_end_only(tmp_path, monkeypatch):
    monkeypatch.setattr(claude, "CONVERSATION_BYTES", 4096)
    monkeypatch.setattr(claude, "RESULT_TAIL_BYTES", 2048)
    filler = [assistant(f"m{n}", {"type": "text", "text": "w" * 500}) for n in range(100)]
    path = write_stream(tmp_path / "agent.jsonl", [*filler, STREAM[-1]])
    conversation = claude.conversation_of(path)
    assert 0 < len(conversation.turns) < 10
    assert conversation.bytes_not_read > path.stat().st_size - 5000
    assert conversation.final is not None and conversation.final.cost_usd == 0.125


def test_a_conversation_is_parsed_once_per_version_of_its_file(tmp_path):
    path = write_stream(tmp_path / "agent.jsonl", STREAM[:3])
    assert claude.conversation_of(path) is claude.conversation_of(path)
    write_stream(path, STREAM)
    assert len(claude.conversation_of(path).turns) == 3


def test_no_conversation_without_a_regular_file(tmp_path):
    (tmp_path / "dir.jsonl").mkdir()
    os.symlink(write_stream(tmp_path / "real.jsonl", STREAM), tmp_path / "link.jsonl")
    assert claude.conversation_of(tmp_path / "missing.jsonl") is None
    assert claude.conversation_of(tmp_path / "dir.jsonl") is None
    assert claude.conversation_of(tmp_path / "link.jsonl") is None
    os.mkfifo(tmp_path / "fifo.jsonl")
    assert claude.conversation_of(tmp_path / "fifo.jsonl") is None


def test_a_failing_instance_shows_its_conversation_collapsed_and_escaped(tmp_path):
    log_dir = tmp_path / "logs" / "a001"
    write_stream(log_dir / "agent.jsonl", [*STREAM[:2], assistant("m5", {"type": "text", "text": HOSTILE}),
                                           STREAM[-1]])
    (log_dir / "agent.stderr").write_text("claude: warning\n")
    page = render([failing("a001", log_dir=log_dir, cost_usd=0.125, turns=3)])
    shown = section(page, "i-a001")
    assert '<details class="conversation">' in shown and "<details class=\"conversation\" open" not in shown
    assert "Conversation: 2 turns, 0 tool calls; success, $0.1250, 3 turns reported; claude-sonnet-4-5" in shown
    assert html.escape(HOSTILE, quote=False) in shown and page.count("<script") == 1
    assert "agent.stderr" in shown and ">agent.jsonl<" not in shown


# ---------------------------------------------------------------------------------------- pytest-html


def test_pytest_html_columns_and_cells_line_up_and_are_escaped():
    headers = report_html_section.pytest_html_header_cells()
    cells = report_html_section.pytest_html_row_cells(record("a001", cost_usd=0.5).to_dict())
    assert len(headers) == len(cells) == len(report_html_section.pytest_html_row_cells(None)) == 4
    assert cells == ['<td class="col-spider2category">passed</td>', '<td class="col-spider2score">1</td>',
                     '<td class="col-spider2seconds">12.5</td>', '<td class="col-spider2cost">$0.5000</td>']
    hostile = record("a001", agent=HOSTILE).to_dict() | {"category": "passed"}
    assert "<script" not in "".join(report_html_section.pytest_html_row_cells(hostile))


def test_the_pytest_html_extra_is_the_section_with_absolute_links_and_its_styles(tmp_path):
    log_dir = write_logs(tmp_path / "logs" / "a001", agent_stdout="out\n")
    extra = report_html_section.pytest_html_extra(failing("a001", log_dir=log_dir).to_dict())
    assert extra.startswith("<style>") and '<section class="s2 instance"' in extra
    assert f'href="{log_dir.as_uri()}/"' in extra and 'href="file:///results/a001/tiny.duckdb"' in extra


# ------------------------------------------------------------------------------------------ end to end


WRONG_AGENT = """
import os, duckdb
print("<script>window.pwned = 1</script> agent output")
with duckdb.connect(os.environ["SPIDER2_DB_PATH"]) as con:
    con.execute("CREATE TABLE orders AS SELECT id, amount * 2 + 1 AS amount, day FROM raw_orders")
"""


def test_a_run_writes_report_html_with_the_agent_output_escaped(pytester, run, tiny_suite, script_agent):
    agent = script_agent("wrong", WRONG_AGENT)
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", f"--spider2-agent={agent}", "--spider2-sandbox=none")
    result.assert_outcomes(failed=1)
    page = (pytester.path / "spider2-results" / "report.html").read_text()
    shown = section(page, "i-tiny001")
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt; agent output" in shown
    assert page.count("<script") == 1 and '<a href="logs/tiny001/agent.stdout">' in shown


def test_a_run_keeps_the_match_report_for_the_page(pytester, run, tiny_suite, script_agent):
    agent = script_agent("wrong", WRONG_AGENT)
    run(f"--spider2-root={tiny_suite(['tiny001'])}", f"--spider2-agent={agent}", "--spider2-sandbox=none")
    shown = section((pytester.path / "spider2-results" / "report.html").read_text(), "i-tiny001")
    assert '<td class="value differs">' in shown


def pytest_html_data(path: Path) -> dict:
    """The data pytest-html renders its page from (a JSON blob in an attribute)."""
    blob = re.search(r'id="data-container" data-jsonblob="([^"]*)"', path.read_text()).group(1)
    return json.loads(html.unescape(blob))


@pytest.mark.long
def test_pytest_html_rows_carry_the_columns_and_the_section(pytester, run_both, tiny_suite, script_agent):
    """The extra is made where the instance ran, so under xdist it travels with the report to the controller."""
    agent = script_agent("wrong", WRONG_AGENT)
    result = run_both(f"--spider2-root={tiny_suite(['tiny001', 'tiny002'])}", f"--spider2-agent={agent}",
                 "--spider2-sandbox=none", "--html=pytest-report.html")
    result.assert_outcomes(failed=2)
    page = (pytester.path / "pytest-report.html").read_text()
    assert page.count('<th class="sortable" data-column-type="spider2category">Category</th>') == 1
    for test_id, runs in pytest_html_data(pytester.path / "pytest-report.html")["tests"].items():
        instance_id = test_id.split("[")[1].rstrip("]")
        (call,) = runs
        assert call["resultsTableRow"][2:4] == ['<td class="col-spider2category">value_mismatch</td>',
                                                '<td class="col-spider2score">0</td>']
        (extra,) = [e["content"] for e in call["extras"] if e["format_type"] == "html"]
        assert f'<section class="s2 instance" id="i-{instance_id}"' in extra
        assert "&lt;script&gt;window.pwned" in extra and "<script" not in extra


def test_without_html_no_extra_is_made(pytester, run, tiny_suite, script_agent, monkeypatch):
    made = []
    monkeypatch.setattr(report_html_section, "pytest_html_extra", lambda data: made.append(data) or "")
    run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-agent=gold", "--spider2-sandbox=none")
    assert made == []


def test_a_run_with_rounds_has_a_grid_on_the_top_page_linking_into_round_folders(pytester, run, tiny_suite):
    run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-agent=noop", "--spider2-rounds=2",
        "--spider2-sandbox=none").assert_outcomes(failed=2)
    out = pytester.path / "spider2-results"
    top = (out / "report.html").read_text()
    assert top.count('<td class="fail"') == 2 and 'href="#i-tiny001-round-2"' in top
    assert 'href="round-2/logs/tiny001/">agent logs' in top
    assert 'href="logs/tiny001/">agent logs' in (out / "round-1" / "report.html").read_text()


def test_a_run_against_a_baseline_shows_the_flips(pytester, run, tiny_suite, solving_agent):
    checkout = tiny_suite(["tiny001", "tiny002"])
    run(f"--spider2-root={checkout}", "--spider2-agent=noop", "--spider2-out=before", "--spider2-sandbox=none")
    run(f"--spider2-root={checkout}", f"--spider2-agent={solving_agent}", "--spider2-baseline=before",
        "--spider2-sandbox=none").assert_outcomes(passed=2)
    page = (pytester.path / "spider2-results" / "report.html").read_text()
    assert "2 newly passing, 0 newly failing" in page and "tiny001, tiny002" in page
