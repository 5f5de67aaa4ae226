"""What writing report.html adds to a 68-instance sweep.

Builds, in a temporary results folder, a synthetic 68-instance sweep as the session files it: records with
realistic failing match reports (value mismatches with sample values, missing tables, row counts), agent logs
(dbt output on stdout and stderr) and, for a third of the instances, a Claude Code stream-json conversation of
60 turns. Then measures, each in fresh processes (`--repeats` times, median):

* the first render of the complete document (imports Jinja2, compiles the templates, parses every log);
* a render of the same document once its sections are cached (what the end-of-run render costs);
* the sweep: summary.json's document grows by one record at a time and report.html is rendered and written
  (`html.render_report`, then the folder's `write_text`, as `store.write_html` does) after each, as the session
  does when instances finish more than 10 s apart, then once more at the end; serially, and as under `-n 3`
  (three workers each writing after its own records with caches of its own, and the controller at the end),
  summed over the processes. This total is what the report adds to the run.
* importing the judge's package in a fresh process: the xdist controller renders the final page without having
  judged anything, and the page reads match reports through `pytest_spider2dbt.match`.

Run: `python benchmarks/bench_report.py [--repeats N] [--keep DIR]` (`--keep` writes the folder there, to look
at the page).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

INSTANCES = 68
CONVERSATION_TURNS = 60


def failing_report(instance_id: str, kind: str) -> dict:
    """A MatchReport as the judge writes it, for a value mismatch, a missing table or a row count mismatch."""
    def matched(count: int) -> list[dict]:
        return [{"index": i, "name": f"col_{i}", "matched": True, "result_column": f"col_{i}", "result_index": i}
                for i in range(count)]

    columns = matched(12)
    tables = [{"name": "dim_customers", "status": "passed", "ignore_order": True, "gold_rows": 5000,
               "result_rows": 5000, "strict_passed": True, "columns": matched(8)}]
    if kind == "value_mismatch":
        for column in columns[2:5]:
            samples = [{"position": p * 37, "gold": f"{1234.5 + p:.2f}", "result": f"{1234.57 + p * 1.1:.2f}"}
                       for p in range(5)]
            column.update(matched=False, result_column=None, candidate=column["name"], candidate_index=2,
                          candidate_reason="same name", agreeing=4211, compared=5000, positions_sorted=True,
                          samples=samples)
        tables.append({"name": "fct_orders", "status": "value_mismatch", "ignore_order": True, "gold_rows": 5000,
                       "result_rows": 5000, "strict_passed": False, "columns": columns,
                       "message": "gold column 2 'col_2' has no matching result column"})
        message = "table fct_orders: gold column 2 'col_2' has no matching result column"
    elif kind == "table_missing":
        tables.append({"name": "fct_orders", "status": "missing", "message": "table fct_orders is not in the result",
                       "result_tables": [f"stg_table_{n}" for n in range(30)],
                       "found_elsewhere": ["main_marts.fct_orders"]})
        message = "table fct_orders is not in the result"
    else:
        tables.append({"name": "fct_orders", "status": "row_count_mismatch", "ignore_order": False, "gold_rows": 5000,
                       "result_rows": 5123, "columns": columns, "message": "5,123 rows in the result, 5,000 in gold"})
        message = "table fct_orders: 5,123 rows in the result, 5,000 in gold"
    return {"score": 0, "strict_score": 0, "category": kind, "message": message, "tables": tables,
            "instance_id": instance_id, "result_path": f"/results/{instance_id}/{instance_id}.duckdb",
            "gold_path": f"/gold/{instance_id}.duckdb"}


def write_logs(log_dir: Path, with_conversation: bool) -> None:
    log_dir.mkdir(parents=True)
    dbt_lines = [f"12:00:{n % 60:02d}  {n} of 180 OK created sql table model main.model_{n} ... [OK in 0.{n}s]"
                 for n in range(180)]
    (log_dir / "agent.stdout").write_text("\n".join(dbt_lines) + "\n")
    (log_dir / "agent.stderr").write_text("Traceback (most recent call last):\n  ...\nRuntimeError: <b>boom</b>\n" * 20)
    if with_conversation:
        (log_dir / "agent.jsonl").write_text(conversation_log())


def conversation_log() -> str:
    events = [{"type": "system", "subtype": "init", "model": "claude-sonnet-4-5"}]
    for turn in range(CONVERSATION_TURNS):
        call = f"toolu_{turn}"
        events.append({"type": "assistant", "message": {"id": f"msg_{turn}", "content": [
            {"type": "text", "text": f"Turn {turn}: let me look at the model and run dbt again. " * 3},
            {"type": "tool_use", "id": call, "name": "Bash", "input": {"command": "dbt run --select fct_orders"}},
        ]}})
        events.append({"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": call, "content": "dbt output line\n" * 200, "is_error": False},
        ]}})
    events.append({"type": "result", "subtype": "success", "is_error": False, "result": "Done.", "num_turns": 61,
                   "total_cost_usd": 0.84, "duration_ms": 412000})
    return "".join(json.dumps(event) + "\n" for event in events)


def write_sweep(folder: Path) -> list[dict]:
    """The records of a 68-instance sweep, in the order they finish, with their logs written under `folder`:
    3 in 7 pass, the others fail with a value mismatch, a missing table, a row count or an agent timeout."""
    kinds = ["passed", "value_mismatch", "passed", "table_missing", "passed", "row_count_mismatch", "agent_timeout"]
    records = []
    for n in range(INSTANCES):
        instance_id = f"synthetic{n:03d}"
        kind = kinds[n % len(kinds)]
        log_dir = folder / "logs" / instance_id
        write_logs(log_dir, with_conversation=n % 3 == 0)
        judged = kind in ("value_mismatch", "table_missing", "row_count_mismatch")
        report = failing_report(instance_id, kind) if judged else None
        records.append({
            "instance_id": instance_id, "category": kind, "score": int(kind == "passed"),
            "strict_score": int(kind == "passed"), "outcome": "passed" if kind == "passed" else "failed",
            "message": report["message"] if report else "", "agent": "claude-code",
            "agent_exit": None if kind == "agent_timeout" else 0, "timed_out": kind == "agent_timeout",
            "agent_seconds": 300.0 + n, "judge_seconds": 0.4, "cost_usd": 0.5 + n / 100, "turns": 40,
            "evaluable": True, "log_dir": str(log_dir), "result_file": f"{instance_id}/{instance_id}.duckdb",
            "report": report,
        })
    return records


MEASURE = """
import json, sys, time
from pathlib import Path
import pytest_spider2dbt.match  # loaded by the judge in the process that files a record
from pytest_spider2dbt.collect import ResultsFolder
from pytest_spider2dbt.report import html, store
from pytest_spider2dbt.report.records import Record

folder_path, what = Path(sys.argv[1]), sys.argv[2]
records = [Record.from_dict(entry) for entry in json.loads((folder_path / "records.json").read_text())]
provenance = {"agent": "claude-code", "isolation": "bubblewrap", "clock": "off", "verdict": "official"}
folder = ResultsFolder(folder_path)
documents = [store.document(records[:n], strict=False, provenance=provenance) for n in range(1, len(records) + 1)]
if what == "first":
    started = time.perf_counter()
    page = html.render_report(documents[-1])
    first = time.perf_counter() - started
    started = time.perf_counter()
    html.render_report(documents[-1])
    print(json.dumps({"first": first, "cached": time.perf_counter() - started, "bytes": len(page.encode())}))
else:
    workers, worker = map(int, what.split("/"))  # this process files every `workers`-th record; 0/0: the controller
    mine = [documents[-1]] if workers == 0 else documents[worker::workers]
    render = cpu = write = 0.0
    for document in mine:
        started, started_cpu = time.perf_counter(), time.process_time()
        page = html.render_report(document)
        render += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
        started = time.perf_counter()
        folder.write_text(store.html_name(store.SUMMARY), page)
        write += time.perf_counter() - started
    print(json.dumps({"render": render, "cpu": cpu, "write": write, "writes": len(mine)}))
"""

IMPORT_MATCH = ("import time; started = time.perf_counter(); import pytest_spider2dbt.match; "
                "print(time.perf_counter() - started)")


def measure(folder: Path, what: str) -> dict:
    output = subprocess.run([sys.executable, "-c", MEASURE, str(folder), what], capture_output=True, text=True,
                            check=True).stdout
    return json.loads(output)


def sweep(folder: Path, workers: int) -> dict[str, float]:
    """Seconds spent rendering (wall and CPU) and writing report.html over a sweep, summed over processes: each
    process (one, or `workers` xdist workers) writes it after each record it files, with caches of its own; then
    the controller writes it once more at the end."""
    processes = [f"{workers}/{worker}" for worker in range(workers)] + ["0/0"]
    runs = [measure(folder, what) for what in processes]
    return {key: sum(run[key] for run in runs) for key in ("render", "cpu", "write", "writes")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the results folder here instead of a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary) / "results"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "records.json").write_text(json.dumps(write_sweep(folder)))
        firsts = [measure(folder, "first") for _ in range(args.repeats)]
        sweeps = {name: [sweep(folder, workers) for _ in range(args.repeats)]
                  for name, workers in (("serial", 1), ("-n 3, summed over 3 workers and the controller", 3))}
        imports = [float(subprocess.run([sys.executable, "-c", IMPORT_MATCH], capture_output=True, text=True,
                                        check=True).stdout) for _ in range(args.repeats)]
    print(f"{INSTANCES} instances, {len(range(0, INSTANCES, 3))} with a {CONVERSATION_TURNS}-turn conversation; page "
          f"{firsts[0]['bytes'] / 1024:.0f} KB; median of {args.repeats} runs, each in fresh processes:")
    print(f"  first render of the whole document: {median_ms(f['first'] for f in firsts)}")
    print(f"  render again (sections cached):     {median_ms(f['cached'] for f in firsts)}")
    for name, runs in sweeps.items():
        print(f"  sweep, {name}: {runs[0]['writes']:.0f} writes; rendering {median_ms(r['render'] for r in runs)} "
              f"({median_ms(r['cpu'] for r in runs)} CPU), writing {median_ms(r['write'] for r in runs)}, "
              f"in all {median_ms(r['render'] + r['write'] for r in runs)}")
    print(f"  importing pytest_spider2dbt.match where nothing was judged (the xdist controller): "
          f"{median_ms(imports)}")


def median_ms(values: Iterable[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(benchmark took {time.perf_counter() - started:.0f} s)")
