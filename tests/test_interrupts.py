"""Ctrl-C mid-sweep: every metadata line stays valid and `--lf --spider2-reuse` finishes the rest."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

IDS = [f"tiny{n:03d}" for n in range(1, 7)]
pytestmark = pytest.mark.long


def counting_agent(script_agent) -> str:
    """Solves an instance slowly and leaves one file per run, so re-runs of the agent can be counted."""
    return script_agent(
        "slow_solve",
        "import os, time, duckdb\n"

        "open(os.path.join(os.environ['RUNS_DIR'], os.environ['SPIDER2_INSTANCE_ID'] + '-' + str(time.time())), 'w')\n"
        "with duckdb.connect(os.environ['SPIDER2_DB_PATH']) as con:\n"
        "    con.execute('CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders')\n"
        "time.sleep(0.3)\n",
    )


def valid_metadata(out) -> list[str]:
    lines = (out / "results_metadata.jsonl").read_text().splitlines()
    return [json.loads(line)["instance_id"] for line in lines]


def agent_runs(runs_dir) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in runs_dir.iterdir():
        instance_id = path.name.split("-")[0]
        counts[instance_id] = counts.get(instance_id, 0) + 1
    return counts


def test_ctrl_c_mid_sweep_then_rerun_finishes_the_rest(pytester, tiny_suite, monkeypatch, script_agent):
    checkout = tiny_suite(IDS)
    runs_dir = pytester.path / "runs"
    runs_dir.mkdir()
    monkeypatch.setenv("RUNS_DIR", str(runs_dir))
    args = [f"--spider2-root={checkout}", f"--spider2-agent={counting_agent(script_agent)}", "-p", "no:xdist"]
    sweep = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args], cwd=pytester.path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    metadata = pytester.path / "spider2-results" / "results_metadata.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (metadata.exists() and len(metadata.read_text().splitlines()) >= 2):
        time.sleep(0.1)
    sweep.send_signal(signal.SIGINT)
    assert sweep.wait(timeout=60) == 2  # pytest's exit code for an interrupted run
    done = valid_metadata(pytester.path / "spider2-results")
    assert 2 <= len(done) < len(IDS)

    result = pytester.runpytest(*args, "--lf", "--spider2-reuse")
    result.assert_outcomes(passed=len(IDS))
    assert sorted(valid_metadata(pytester.path / "spider2-results")) == IDS
    runs = agent_runs(runs_dir)
    assert all(runs[i] == 1 for i in done)  # finished instances were judged again, not re-run
