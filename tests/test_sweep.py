"""The full sweep as teams run it: concurrency, progress, rounds, Claude Code, reuse and a baseline."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import stat
import struct
import subprocess
import sys
import termios
import textwrap
from pathlib import Path

import pytest

SOLVE = (
    "import os, duckdb; duckdb.connect(os.environ['SPIDER2_DB_PATH']).execute("
    "'CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders')"
)


@pytest.mark.long
def test_an_xdist_sweep_runs_agents_at_once_shows_progress_and_files_each_instance_once(pytester, tiny_suite):
    ids = [f"tiny{n:03d}" for n in range(1, 7)]
    checkout = tiny_suite(ids)
    spans = pytester.path / "spans"
    spans.mkdir()
    agent = (f"cmd:{sys.executable} -c 'import time; print(time.time())' > {spans}/$SPIDER2_INSTANCE_ID.start; "
             f"sleep 2; {sys.executable} -c {SOLVE!r}")
    result = pytester.runpytest(f"--spider2-root={checkout}", f"--spider2-agent={agent}", "-n", "3",
                                "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=6)
    starts = sorted(float(p.read_text()) for p in spans.iterdir())
    assert starts[2] - starts[0] < 2  # three workers each start an agent before any 2 s agent can have finished
    result.stdout.fnmatch_lines(["[[]1/6[]] tiny00? passed*running: *ETA *", "[[]6/6[]] tiny00? passed"])
    assert result.stdout.str().count("Spider2-DBT score: 6/6 (100.0%)") == 1
    assert not [line for line in result.stdout.lines if re.fullmatch(r"[.F]+", line.strip())]
    out = pytester.path / "spider2-results"
    metadata = [json.loads(line)["instance_id"] for line in (out / "results_metadata.jsonl").read_text().splitlines()]
    records = json.loads((out / "summary.json").read_text())["instances"]
    assert metadata == [record["instance_id"] for record in records] == ids


def test_progress_lines_say_what_finished_and_the_eta(pytester, run, tiny_suite, solving_agent):
    result = run(f"--spider2-root={tiny_suite(['tiny001', 'tiny002', 'tiny003'])}", f"--spider2-agent={solving_agent}")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["[[]1/3[]] tiny001 passed · ETA *", "[[]2/3[]] tiny002 passed · ETA *", "[[]3/3[]] tiny003 passed"]
    )
    assert "done · running" not in result.stdout.str()  # the live status line is for terminals only
    lines = [line.rstrip() for line in result.stdout.lines]
    assert lines.count("spider2-dbt") == 1  # the node's name once, its progress lines in place of the dots
    assert not [line for line in lines if re.fullmatch(r"(spider2-dbt )?[.F]+", line)]


def run_on_a_terminal(args: list[str], cwd: Path) -> str:
    """Run a child pytest whose output is a pseudo-terminal 120 columns wide; return what it wrote."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    child = subprocess.Popen([sys.executable, "-m", "pytest", *args], stdin=terminal, stdout=terminal,
                             stderr=terminal, cwd=cwd)
    os.close(terminal)
    written = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        written += chunk
    child.wait(timeout=60)
    os.close(controller)
    return written.decode("utf-8", "replace")


def screen_lines(written: str) -> list[str]:
    """The lines a terminal shows at the end: a carriage return goes back to the start of the line."""
    shown = []
    for line in re.sub(r"\x1b\[[0-9;]*m", "", written).replace("\r\n", "\n").split("\n"):
        screen = ""
        for part in line.split("\r"):
            screen = part + screen[len(part):]
        shown.append(screen.rstrip())
    return shown


@pytest.mark.long
@pytest.mark.parametrize("workers", [["-p", "no:xdist"], ["-n", "2"]], ids=["serial", "xdist"])
def test_on_a_terminal_a_live_status_line_names_what_runs_and_gives_way_to_the_progress_lines(
        pytester, tiny_suite, solving_agent, workers):
    checkout = tiny_suite(["tiny001", "tiny002", "tiny003"])
    written = run_on_a_terminal(["-p", "no:cacheprovider", "-p", "no:hypothesispytest", f"--spider2-root={checkout}",
                                 f"--spider2-agent={solving_agent}", *workers], pytester.path)
    assert re.search(r"\rspider2-dbt 0/3 done · running: tiny00\d since \d\d:\d\d:\d\d", written)
    assert re.search(r"\rspider2-dbt 1/3 done · running: .* · done by about \d\d:\d\d", written)
    shown = screen_lines(written)
    progress = [line for line in shown if re.match(r"\[\d/3\] tiny00\d passed", line)]
    assert [line[:5] for line in progress] == ["[1/3]", "[2/3]", "[3/3]"]
    assert not [line for line in shown if "done · running" in line]  # each status line was written over
    assert "Spider2-DBT score: 3/3 (100.0%)" in shown


def test_rounds_run_each_instance_n_times_and_report_the_spread(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    pytester.makeconftest(
        """
        def pytest_spider2dbt_run_agent(context):
            return 0 if "tiny002" in str(context.log_dir) and "round-2" in str(context.log_dir) else None
        """
    )
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--spider2-rounds=3", "-v")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*test_instance[[]tiny002-round-2[]]*FAILED*"])
    result.stdout.fnmatch_lines(
        [
            "Spider2-DBT score: 5/6 (83.3%)",
            "*rounds: 3; mean score 83.3% ± 16.7% (standard error over rounds); 95% interval (Wilson) 43.6%–97.0%",
            "*pass@k: pass@1 83.3%, pass@2 100.0%, pass@3 100.0%",
            "*always passing: 1  tiny001",
            "*sometimes passing: 1  tiny002",
        ]
    )
    out = pytester.path / "spider2-results"
    for n in (1, 2, 3):
        assert len((out / f"round-{n}" / "results_metadata.jsonl").read_text().splitlines()) == 2
    rounds = json.loads((out / "summary.json").read_text())["folder"]["rounds"]
    assert rounds["stability"] == {"always": ["tiny001"], "sometimes": ["tiny002"], "never": []}
    assert rounds["pass_at_k"]["1"] == pytest.approx(5 / 6)


CLAUDE_STAND_IN = textwrap.dedent(
    """\
    #!{python}
    # Stand-in for the Claude Code CLI: checks its flags, does the task, prints its stream-json format.
    import json, os, sys
    args = sys.argv[1:]
    assert args[:7] == ["--print", "--output-format", "stream-json", "--verbose", "--permission-mode",
                        "bypassPermissions", "--model"], args
    assert args[7] == "opus" and args[8:10] == ["--max-budget-usd", "2.5"], args
    prompt = args[-1]
    print(json.dumps({{"type": "system", "subtype": "init", "model": "claude-opus", "cwd": os.getcwd()}}))
    text = {{"type": "text", "text": "On it: " + prompt}}
    print(json.dumps({{"type": "assistant", "message": {{"content": [text]}}}}))
    import duckdb
    duckdb.connect("tiny.duckdb").execute(
        "CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders")
    print(json.dumps({{"type": "result", "subtype": "success", "is_error": False, "duration_ms": 1234,
                      "num_turns": 7, "total_cost_usd": 0.42, "result": "done",
                      "usage": {{"input_tokens": 900, "output_tokens": 120}},
                      "modelUsage": {{"claude-opus": {{"costUSD": 0.42}}}}}}))
    """
)


@pytest.fixture
def claude_on_path(pytester, monkeypatch):
    bin_dir = pytester.path / "bin"
    bin_dir.mkdir()
    claude = bin_dir / "claude"
    claude.write_text(CLAUDE_STAND_IN.format(python=sys.executable))
    claude.chmod(claude.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    return bin_dir


def test_claude_code_preset_records_cost_turns_tokens_and_model(pytester, run, tiny_suite, claude_on_path):
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-agent=claude-code", "--spider2-model=opus",
                 "--spider2-budget=2.5", "--junitxml=out.xml", "--spider2-sandbox=none")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*agent cost: $0.42 over 1 runs ($0.42 mean), 7 turns"])
    stream = (pytester.path / "spider2-results" / "logs" / "tiny001" / "agent.jsonl").read_text().splitlines()
    assert json.loads(stream[-1])["type"] == "result"
    record = json.loads((pytester.path / "spider2-results" / "summary.json").read_text())["instances"][0]
    assert (record["cost_usd"], record["turns"], record["input_tokens"], record["output_tokens"], record["model"]) == (
        0.42, 7, 900, 120, "claude-opus")


def test_claude_code_without_the_cli_is_a_usage_error(pytester, run, tiny_suite, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-agent=claude-code")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*claude-code agent needs the `claude` CLI*npm install -g @anthropic-ai/claude-code*"])


def test_reuse_judges_filed_results_without_running_the_agent(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002"])
    run(f"--spider2-root={checkout}", "--spider2-agent=gold", "-k", "tiny001").assert_outcomes(passed=1)
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--spider2-reuse", "-v")
    result.assert_outcomes(passed=2)
    summary = json.loads((pytester.path / "spider2-results" / "summary.json").read_text())
    assert {i["instance_id"]: i["agent"] for i in summary["instances"]} == {"tiny001": "reused", "tiny002": "gold"}


def test_a_baseline_shows_the_flips_and_whether_they_are_more_than_chance(pytester, run, tiny_suite):
    checkout = tiny_suite([f"tiny{n:03d}" for n in range(1, 7)])
    run(f"--spider2-root={checkout}", "--spider2-out=before").assert_outcomes(failed=6)
    result = run(f"--spider2-root={checkout}", "--spider2-agent=gold", "--spider2-baseline=before")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        ["Compared with *before: 6 newly passing, 0 newly failing (exact McNemar p = 0.0312: more than chance)",
         "  newly passing: tiny001, tiny002, tiny003, tiny004, tiny005, tiny006"]
    )


def test_a_missing_baseline_is_a_usage_error(pytester, run, tiny_suite):
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-baseline=nowhere.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--spider2-baseline *nowhere.json: cannot read*"])
