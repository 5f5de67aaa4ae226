"""Real Spider2 databases (written by an older DuckDB) run through the whole plugin."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

DUCKDB = Path(__file__).resolve().parents[2] / "shared" / "spider2-data" / "duckdb"
pytestmark = [pytest.mark.skipif(not DUCKDB.is_dir(), reason=f"real Spider2 data not found at {DUCKDB}"),
              pytest.mark.parity]

CHECKS = {
    "mrr001": ("mrr", ["mrr"], [list(range(12))]),
    "playbook001": ("playbook", ["attribution_touches"], [[15, 16, 17, 18]]),
}


@pytest.fixture
def real_suite(pytester):
    """A Spider2-shaped checkout made of the shared real databases (copied: the originals are never written)."""

    def make(start_files: dict[str, str]):
        suite = pytester.path / "Spider2" / "spider2-dbt"
        instructions, evaluations = [], []
        for instance_id, start_file in start_files.items():
            name, tables, cols = CHECKS[instance_id]
            example = suite / "examples" / instance_id
            gold = suite / "evaluation_suite" / "gold" / instance_id
            example.mkdir(parents=True)
            gold.mkdir(parents=True)
            (example / "dbt_project.yml").write_text(f"name: {name}\nprofile: {name}\n")
            (example / "profiles.yml").write_text(
                f"{name}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: ./{name}.duckdb\n"
            )
            shutil.copyfile(DUCKDB / start_file, example / f"{name}.duckdb")
            shutil.copyfile(DUCKDB / f"{name}_gold.duckdb", gold / f"{name}.duckdb")
            instructions.append({"instance_id": instance_id, "instruction": "finish it", "type": "DBT"})
            evaluations.append({"instance_id": instance_id, "evaluation": {"func": "duckdb_match", "parameters": {
                "gold": f"{name}.duckdb", "condition_tabs": tables, "condition_cols": cols,
                "ignore_orders": [True]}}})
        for path, records in ((suite / "examples" / "spider2-dbt.jsonl", instructions),
                              (suite / "evaluation_suite" / "gold" / "spider2_eval.jsonl", evaluations)):
            path.write_text("".join(json.dumps(r) + "\n" for r in records))
        return suite.parent

    return make


def test_gold_agent_passes_real_databases_even_over_a_view(pytester, run, real_suite):
    checkout = real_suite({"mrr001": "mrr_start.duckdb", "playbook001": "playbook_start_with_view.duckdb"})
    run(f"--spider2-root={checkout}", "--spider2-agent=gold").assert_outcomes(passed=2)


def test_start_databases_fail_with_table_missing(pytester, run, real_suite):
    checkout = real_suite({"mrr001": "mrr_start.duckdb", "playbook001": "playbook_start.duckdb"})
    result = run(f"--spider2-root={checkout}")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*table_missing*2*"])


def test_another_finished_build_is_judged_a_pass(pytester, run, real_suite):
    checkout = real_suite({"mrr001": "mrr_start.duckdb"})
    agent = f"cmd:cp {DUCKDB / 'mrr_variant_a.duckdb'} mrr.duckdb"
    run(f"--spider2-root={checkout}", f"--spider2-agent={agent}").assert_outcomes(passed=1)
