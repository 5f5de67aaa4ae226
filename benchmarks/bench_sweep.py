"""Wall time of a sweep whose agent only waits (as an API-bound agent does): serial against `-n 3`.

Builds six tiny Spider2-shaped instances in a temp folder, runs them with an agent that sleeps 3 s, once with
`-p no:xdist` and once with `-n 3`, and prints both wall times and their ratio. Goal: `-n 3` well under half the
serial time. Run: `python benchmarks/bench_sweep.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

INSTANCES = [f"wait{n:03d}" for n in range(1, 7)]
AGENT_SECONDS = 3


def write_suite(root: Path) -> Path:
    suite = root / "spider2-dbt"
    instructions, evaluations = [], []
    for instance_id in INSTANCES:
        project = suite / "examples" / instance_id
        project.mkdir(parents=True)
        (project / "dbt_project.yml").write_text("name: wait\nprofile: wait\n")
        (project / "profiles.yml").write_text(
            "wait:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: wait.duckdb\n"
        )
        gold = suite / "evaluation_suite" / "gold" / instance_id
        gold.mkdir(parents=True)
        for path in (project / "wait.duckdb", gold / "wait.duckdb"):
            with duckdb.connect(str(path)) as con:
                con.execute("CREATE TABLE t AS SELECT range AS x FROM range(10)")
        instructions.append({"instance_id": instance_id, "instruction": "wait", "type": "DBT"})
        evaluations.append({"instance_id": instance_id, "evaluation": {"func": "duckdb_match", "parameters": {
            "gold": "wait.duckdb", "condition_tabs": ["t"], "condition_cols": [[0]], "ignore_orders": [True]}}})
    for path, records in ((suite / "examples" / "spider2-dbt.jsonl", instructions),
                          (suite / "evaluation_suite" / "gold" / "spider2_eval.jsonl", evaluations)):
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return root


def timed_sweep(root: Path, parallel: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", f"--spider2-root={root}", f"--spider2-agent=cmd:sleep {AGENT_SECONDS}",
         f"--spider2-out={root / 'out'}", "-p", "no:cacheprovider", *parallel],
        cwd=root, check=True, stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = write_suite(Path(scratch))
        serial = timed_sweep(root, ["-p", "no:xdist"])
        parallel = timed_sweep(root, ["-n", "3"])
    print(f"{len(INSTANCES)} instances, agent sleeps {AGENT_SECONDS} s")
    print(f"serial:  {serial:6.1f} s")
    print(f"-n 3:    {parallel:6.1f} s")
    print(f"ratio:   {parallel / serial:6.2f} (goal: well under 0.5)")


if __name__ == "__main__":
    main()
