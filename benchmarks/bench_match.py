"""Benchmark: the fast duckdb_match against a plain transcription of the official rules.

Run as ``python benchmarks/bench_match.py``. It builds, in a temporary directory, a 100,000-row, 12-column gold
table (integers, doubles, decimals, text, dates, timestamps, booleans, NULLs) and a result table with the same
data, rows shuffled, columns permuted and 4 extra columns; then it runs each matcher over all 12 columns with
ignore order in its own subprocess (so that neither disturbs the other's memory), checks that both give the
same verdict, and prints their times, the ratio and their peak memory (resident set size).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def build_databases(directory: Path) -> tuple[Path, dict[str, Path]]:
    """The gold file, and the result files by scenario name."""
    import duckdb

    gold, copy, nudged = directory / "gold.duckdb", directory / "result.duckdb", directory / "nudged.duckdb"
    source = f"FROM range({ROWS}) AS r(i)"
    connection = duckdb.connect(str(gold))
    connection.execute(f"CREATE TABLE orders AS SELECT {', '.join(GOLD_COLUMNS)} {source}")
    connection.close()
    columns = GOLD_COLUMNS + EXTRA_COLUMNS
    connection = duckdb.connect(str(copy))
    connection.execute("SELECT setseed(0.42)")
    connection.execute(
        f"CREATE TABLE orders AS SELECT {', '.join(columns[p] for p in RESULT_ORDER)} {source} ORDER BY random()"
    )
    connection.close()
    connection = duckdb.connect(str(nudged))
    connection.execute(f"ATTACH '{copy}' AS copy (READ_ONLY)")
    replacements = ", ".join(f"{expression} AS {name}" for name, expression in NUDGED.items())
    connection.execute(f"CREATE TABLE orders AS SELECT * REPLACE ({replacements}) FROM copy.orders")
    connection.close()
    return gold, {"exact copy": copy, "doubles and decimals nudged by 0.004": nudged}


# ----------------------------------------------------------------------- the official rules, transcribed


def transcription_score(result: str, gold: str, tables: list[str], columns: list[list[int]], orders: list[bool]) -> int:
    """The official duckdb_match, rule by rule (DESIGN.md, "The official verdict"); any exception is 0."""
    try:
        return _transcribed_match(result, gold, tables, columns, orders)
    except Exception:
        return 0


def _read(path: str, table: str) -> Any:
    import duckdb

    connection = duckdb.connect(database=path, read_only=True)
    try:
        return connection.execute(f"SELECT * FROM {table}").fetchdf()
    finally:
        connection.close()


def _transcribed_match(result: str, gold: str, tables: list[str], columns: list[list[int]], orders: list[bool]) -> int:
    gold_frames = [_read(gold, table) for table in tables]
    try:
        result_frames = [_read(result, table) for table in tables]
    except Exception:
        return 0
    if len(columns) != len(gold_frames) or len(orders) != len(gold_frames):
        return 0
    for gold_frame, result_frame, kept, ignore_order in zip(gold_frames, result_frames, columns, orders):
        if not _tables_agree(gold_frame, result_frame, kept, ignore_order):
            return 0
    return 1


def _tables_agree(gold: Any, result: Any, kept: list[int], ignore_order: bool) -> bool:
    """Like the official loop, it goes on after a gold column without partner, and once a partner is found it
    looks for it a second time."""
    selected = gold.iloc[:, kept] if kept != [] else gold
    gold_lists = selected.transpose().values.tolist()
    result_lists = result.transpose().values.tolist()
    agree = True
    for gold_list in gold_lists:
        if not any(_lists_agree(gold_list, result_list, ignore_order) for result_list in result_lists):
            agree = False
        else:
            next(result_list for result_list in result_lists if _lists_agree(gold_list, result_list, ignore_order))
    return agree


def _order_key(value: Any) -> tuple:
    return (value is None, str(value), isinstance(value, (int, float)))


def _lists_agree(gold: list, result: list, ignore_order: bool) -> bool:
    import pandas as pd

    try:
        if ignore_order:
            gold, result = sorted(gold, key=_order_key), sorted(result, key=_order_key)
        if len(gold) != len(result):
            return False
        for a, b in zip(gold, result):
            if pd.isna(a) and pd.isna(b):
                continue
            if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                if not math.isclose(float(a), float(b), abs_tol=0.01):
                    return False
            elif a != b:
                return False
        return True
    except Exception:
        return False


# ------------------------------------------------------------------------------------------ measurement


def peak_rss_megabytes() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(matcher: str, result: str, gold: str) -> dict[str, Any]:
    """Run one matcher once in this (fresh) process: its time and peak memory."""
    import warnings

    import duckdb  # noqa: F401  (imported before the baseline, like the matcher's own imports)
    import pandas  # noqa: F401

    from pytest_spider2dbt.match import duckdb_match

    warnings.simplefilter("ignore")
    arguments = (result, gold, ["orders"], [list(range(len(GOLD_COLUMNS)))], [True])
    baseline = peak_rss_megabytes()
    start = time.perf_counter()
    score = duckdb_match(*arguments).score if matcher == "fast" else transcription_score(*arguments)
    seconds = time.perf_counter() - start
    peak = peak_rss_megabytes()
    return {"matcher": matcher, "score": score, "seconds": seconds, "peak_rss_mb": peak,
            "peak_above_imports_mb": peak - baseline}


def run_in_subprocess(matcher: str, result: Path, gold: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--measure", matcher, str(result), str(gold)]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", nargs=3, metavar=("MATCHER", "RESULT", "GOLD"), help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the fast matcher (the median is reported)")
    arguments = parser.parse_args()
    if arguments.measure:
        print(json.dumps(measure(*arguments.measure)))
        return
    print(f"gold: {ROWS:,} rows, {len(GOLD_COLUMNS)} columns, all graded with ignore order; result: rows shuffled, "
          f"columns permuted, {len(EXTRA_COLUMNS)} extra columns; every run in a fresh process")
    all_same = True
    with tempfile.TemporaryDirectory() as directory:
        gold, results = build_databases(Path(directory))
        for scenario, result in results.items():
            fast = summarise([run_in_subprocess("fast", result, gold) for _ in range(arguments.repeats)])
            transcription = summarise([run_in_subprocess("transcription", result, gold)])
            same = fast["score"] is not None and fast["score"] == transcription["score"]
            all_same = all_same and same
            print(f"\n{scenario}:")
            for run in (fast, transcription):
                print(f"  {run['matcher']:>13}: score {run['score']}, {run['seconds']:.2f} s (runs {run['runs']}), "
                      f"peak RSS {run['peak_rss_mb']:.0f} MB ({run['peak_above_imports_mb']:.0f} MB above imports)")
            print(f"  {'ratio':>13}: {transcription['seconds'] / fast['seconds']:.1f}x faster; same verdict: {same}")
    if not all_same:
        sys.exit(1)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
