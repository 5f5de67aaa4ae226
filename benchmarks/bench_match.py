"""Benchmark: the judge (pytest_spider2dbt.match.duckdb_match) against the official Spider2 evaluator.

Run as ``python benchmarks/bench_match.py``. In a temporary directory it builds:

* a 100,000-row, 12-column gold table (integers, doubles, decimals, text, dates, timestamps, booleans, NULLs) and
  two results with the same data, rows shuffled, columns permuted and 4 extra columns: an exact copy, and one
  whose doubles and decimal are moved by 0.004 (within the tolerance, enough to change their string order);
  all 12 columns are graded with ignore order;
* the LIST case of issue 13: 20,000 rows by 30 LIST columns, the result's columns named differently, rows in
  order; it fails (a list never matches), so the judge also explains each of the 30 failing columns.

Each matcher runs in its own subprocess (so that neither disturbs the other's time or memory): the judge
(``--repeats`` times, the median is reported) and the official code once, both verdicts must agree. The official
code is the real one, loaded from ``../shared/spider2-official/`` (with stand-ins for the two modules it imports and
``duckdb_match`` never uses); where that folder is absent, ``pytest_spider2dbt.match.official``, which states the
same rule function by function (the project's differential tests check that both give the same score).

The rules checked: the judge is at least 50x faster than the official code on the 100,000-row copy, and on the
LIST case the judge's verdict with its explanation takes at most 3x the official verdict. The exit status is 1
when a verdict differs or a rule fails.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL_DIR = ROOT.parent / "shared" / "spider2-official"
ROWS = 100_000
GOLD_COLUMNS = [
    "i::INTEGER AS id",
    "(i * 7919 % 100003)::BIGINT AS big",
    "CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 1000)::INTEGER END AS maybe_int",
    "round(i * 1.37, 2)::DOUBLE AS amount",
    "CASE WHEN i % 13 = 0 THEN NULL ELSE (i % 97) / 7.0 END AS ratio",
    "(i / 3.0)::DECIMAL(18, 3) AS price",
    "'customer_' || (i % 5000) AS name",
    "CASE WHEN i % 17 = 0 THEN NULL ELSE 'segment ' || (i % 7) END AS segment",
    "DATE '2015-01-01' + (i % 3000)::INTEGER AS order_date",
    "TIMESTAMP '2015-01-01' + to_seconds(i * 37) AS created_at",
    "i % 3 = 0 AS is_active",
    "CASE WHEN i % 19 = 0 THEN NULL ELSE i % 2 = 0 END AS maybe_flag",
]
EXTRA_COLUMNS = [
    "i * 2 AS extra_int",
    "'x' || i AS extra_text",
    "(i % 1009) / 3.0 AS extra_double",
    "DATE '2000-01-01' + (i % 10)::INTEGER AS extra_date",
]
RESULT_ORDER = [3, 15, 9, 0, 12, 7, 1, 14, 11, 5, 13, 2, 8, 10, 4, 6]  # positions in GOLD_COLUMNS + EXTRA_COLUMNS
NUDGED = {"amount": "amount + 0.004", "ratio": "ratio - 0.004", "price": "price + 0.004"}
LIST_ROWS, LIST_COLUMNS = 20_000, 30
SPEEDUP_RULE = 50.0
EXPLANATION_RULE = 3.0


def build_databases(directory: Path) -> list[dict[str, Any]]:
    """The scenarios: name, result and gold files, and the evaluator entry."""
    import duckdb

    gold, copy, nudged = directory / "gold.duckdb", directory / "result.duckdb", directory / "nudged.duckdb"
    source = f"FROM range({ROWS}) AS r(i)"
    with duckdb.connect(str(gold)) as connection:
        connection.execute(f"CREATE TABLE orders AS SELECT {', '.join(GOLD_COLUMNS)} {source}")
    columns = GOLD_COLUMNS + EXTRA_COLUMNS
    with duckdb.connect(str(copy)) as connection:
        connection.execute("SELECT setseed(0.42)")
        connection.execute(
            f"CREATE TABLE orders AS SELECT {', '.join(columns[p] for p in RESULT_ORDER)} {source} ORDER BY random()"
        )
    with duckdb.connect(str(nudged)) as connection:
        connection.execute(f"ATTACH '{copy}' AS copy (READ_ONLY)")
        replacements = ", ".join(f"{expression} AS {name}" for name, expression in NUDGED.items())
        connection.execute(f"CREATE TABLE orders AS SELECT * REPLACE ({replacements}) FROM copy.orders")
    orders_entry = (["orders"], [list(range(len(GOLD_COLUMNS)))], [True])
    list_gold, list_result = directory / "list_gold.duckdb", directory / "list_result.duckdb"
    for path, prefix in ((list_gold, "c"), (list_result, "other")):
        lists = ", ".join(f"[i % {k + 2}, i % 7, {k}] AS {prefix}{k}" for k in range(LIST_COLUMNS))
        with duckdb.connect(str(path)) as connection:
            connection.execute(f"CREATE TABLE t AS SELECT {lists} FROM range({LIST_ROWS}) r(i)")
    return [
        {"name": "exact copy", "result": str(copy), "gold": str(gold), "entry": orders_entry},
        {"name": "doubles and decimals nudged by 0.004", "result": str(nudged), "gold": str(gold),
         "entry": orders_entry},
        {"name": f"LIST case ({LIST_ROWS:,} rows x {LIST_COLUMNS} LIST columns, names differ, in order)",
         "result": str(list_result), "gold": str(list_gold), "entry": (["t"], None, [False])},
    ]


# ------------------------------------------------------------------------------------------ the official code


def load_official() -> tuple[str, Any]:
    """The real official duckdb_match, or match.official's when ../shared/spider2-official is absent."""
    if (OFFICIAL_DIR / "eval_utils.py").is_file():
        stubs = Path(tempfile.mkdtemp(prefix="spider2-official-stubs-"))
        (stubs / "google" / "cloud").mkdir(parents=True)
        for name in ("google/__init__.py", "google/cloud/__init__.py", "google/cloud/bigquery.py"):
            (stubs / name).write_text("")
        sys.path[:0] = [str(stubs), str(OFFICIAL_DIR)]
        return "official (eval_utils.py)", importlib.import_module("eval_utils").duckdb_match
    from pytest_spider2dbt.match import official

    return "official (match.official)", official.duckdb_match


# ------------------------------------------------------------------------------------------------ measurement


def peak_rss_megabytes() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(matcher: str, scenario: dict[str, Any]) -> dict[str, Any]:
    """Run one matcher once in this (fresh) process: its score, time and peak memory."""
    import duckdb  # noqa: F401  (imported before the baseline, like the matchers' own imports)
    import pandas  # noqa: F401

    from pytest_spider2dbt.match import duckdb_match

    warnings.simplefilter("ignore")
    label, official_match = load_official()
    arguments = (scenario["result"], scenario["gold"], *scenario["entry"])
    baseline = peak_rss_megabytes()
    start = time.perf_counter()
    if matcher == "judge":
        score = duckdb_match(*arguments).score
    else:
        try:
            score = int(official_match(*arguments))
        except Exception:
            score = 0
    seconds = time.perf_counter() - start
    peak = peak_rss_megabytes()
    return {"matcher": "judge" if matcher == "judge" else label, "score": score, "seconds": seconds,
            "peak_rss_mb": peak, "peak_above_imports_mb": peak - baseline}


def run_in_subprocess(matcher: str, scenario: dict[str, Any]) -> dict[str, Any]:
    command = [sys.executable, __file__, "--measure", matcher, json.dumps(scenario)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median time and highest peak memory of several runs of one matcher."""
    return {
        "matcher": runs[0]["matcher"],
        "score": runs[0]["score"] if len({run["score"] for run in runs}) == 1 else None,
        "seconds": statistics.median(run["seconds"] for run in runs),
        "runs": [round(run["seconds"], 3) for run in runs],
        "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
        "peak_above_imports_mb": max(run["peak_above_imports_mb"] for run in runs),
    }


def compare(scenario: dict[str, Any], repeats: int) -> tuple[bool, float]:
    """Print both matchers' figures on one scenario; whether they agree, and the official/judge time ratio."""
    judge = summarise([run_in_subprocess("judge", scenario) for _ in range(repeats)])
    reference = summarise([run_in_subprocess("official", scenario)])
    same = judge["score"] is not None and judge["score"] == reference["score"]
    ratio = reference["seconds"] / judge["seconds"]
    print(f"\n{scenario['name']}:")
    for run in (judge, reference):
        print(f"  {run['matcher']:>26}: score {run['score']}, {run['seconds']:.2f} s (runs {run['runs']}), "
              f"peak RSS {run['peak_rss_mb']:.0f} MB ({run['peak_above_imports_mb']:.0f} MB above imports)")
    print(f"  {'ratio':>26}: the judge takes {1 / ratio:.2f}x the official time ({ratio:.1f}x faster); "
          f"same verdict: {same}")
    return same, ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", nargs=2, metavar=("MATCHER", "SCENARIO"), help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the judge (the median is reported)")
    arguments = parser.parse_args()
    if arguments.measure:
        print(json.dumps(measure(arguments.measure[0], json.loads(arguments.measure[1]))))
        return
    print(f"every run in a fresh process; the official code: {load_official()[0]}")
    with tempfile.TemporaryDirectory() as directory:
        copy, nudged, lists = build_databases(Path(directory))
        results = [compare(scenario, arguments.repeats) for scenario in (copy, nudged, lists)]
    speedup, explanation = results[0][1], 1 / results[2][1]
    rules = [
        (f"judge >= {SPEEDUP_RULE:g}x faster than the official code on the 100,000-row copy", speedup >= SPEEDUP_RULE),
        (f"LIST case: verdict and explanation <= {EXPLANATION_RULE:g}x the official verdict",
         explanation <= EXPLANATION_RULE),
    ]
    print()
    for rule, kept in rules:
        print(f"{'kept' if kept else 'BROKEN'}: {rule}")
    if not all(same for same, _ in results) or not all(kept for _, kept in rules):
        sys.exit(1)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
