"""What bubblewrap adds to one agent start: commands run through `AgentContext.run` with and without the sandbox.

For `/bin/true` and `python -c pass`, runs each command REPEATS times unsandboxed and in the bwrap sandbox (the
same configuration a run gets: the Python environment, a hidden Spider2 tree inside a shown folder, a bind),
alternating the two so that both see the same load, and prints the median and 90th percentile of each and the
difference of the medians. Target: under 50 ms per start. Also times choosing the sandbox (its one trial
run per pytest process). Run: `python benchmarks/bench_sandbox.py [--repeats N]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pytest_spider2dbt.agents import AgentContext
from pytest_spider2dbt.agents.sandbox import NO_SANDBOX, Sandbox, choose_sandbox

COMMANDS = {"/bin/true": ["/bin/true"], "python -c pass": [sys.executable, "-c", "pass"]}


def context(root: Path, sandbox: Sandbox) -> AgentContext:
    project = root / "workspace" / "project"
    project.mkdir(parents=True, exist_ok=True)
    return AgentContext(instance_id="bench001", instruction="nothing", project_dir=project,
                        db_path=project / "bench.duckdb", log_dir=root / "out" / "logs" / "bench001",
                        deadline=time.monotonic() + 3600, timeout=3600,
                        env={"PATH": "/usr/bin:/bin", "HOME": str(root / "home")}, sandbox=sandbox)


def start(agent: AgentContext, argv: list[str]) -> float:
    """Seconds of one run of `argv`, from the call to its return (the harness's bookkeeping included)."""
    started = time.perf_counter()
    assert agent.run(argv) == 0
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(share * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=200)
    repeats = parser.parse_args().repeats
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "home").mkdir()
        (root / "project-of-the-user" / "Spider2").mkdir(parents=True)
        chosen = time.perf_counter()
        sandbox = choose_sandbox("bwrap", binds=[f"{root / 'home'}:/opt/bench:ro"],
                                 hidden=[root / "project-of-the-user" / "Spider2", root / "out"],
                                 read_only=[root / "project-of-the-user"])
        choosing = time.perf_counter() - chosen
        print(f"choosing the sandbox (one trial run): {choosing * 1000:.0f} ms")
        print(f"{'command':<16} {'sandbox':<8} {'median':>9} {'p90':>9}   ({repeats} starts each)")
        plain, boxed = context(root, NO_SANDBOX), context(root, sandbox)
        for name, argv in COMMANDS.items():
            for _ in range(5):  # warm the page cache
                start(plain, argv), start(boxed, argv)
            seconds: dict[str, list[float]] = {"none": [], "bwrap": []}
            for _ in range(repeats):
                seconds["none"].append(start(plain, argv))
                seconds["bwrap"].append(start(boxed, argv))
            for label, values in seconds.items():
                median, p90 = statistics.median(values), percentile(values, 0.9)
                print(f"{name:<16} {label:<8} {median * 1000:>7.1f} ms {p90 * 1000:>6.1f} ms")
            added = statistics.median(seconds["bwrap"]) - statistics.median(seconds["none"])
            print(f"{name:<16} bwrap adds {added * 1000:.1f} ms per start (difference of the medians)")

if __name__ == "__main__":
    main()
