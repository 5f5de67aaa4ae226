"""Preflight (`--spider2-check`): missing parts, free passes, outdated evaluator entries and dbt packages offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Loaded here, before any in-process inner run: pytester unloads modules first imported during one, and the judge's
# numpy cannot be loaded twice in a process.
import pytest_spider2dbt.match  # noqa: F401
from pytest_spider2dbt.preflight import (
    evaluator_update,
    evaluator_updates,
    install_advice,
    missing_packages,
    package_folder,
    packages_status,
)
from pytest_spider2dbt.suite import Checks, parse_checks

SHARED_EVALUATION = Path(__file__).parents[2] / "shared" / "spider2-data" / "spider2_eval.jsonl"


@pytest.mark.parametrize(
    ("entry", "folder"),
    [
        ({"package": "dbt-labs/dbt_utils", "version": "1.0.0"}, "dbt_utils"),
        ({"git": "https://github.com/jwills/dbt-external-tables.git", "revision": "02ce85f"}, "dbt_external_tables"),
        ({"git": "https://example.org/mono.git", "subdirectory": "packages/my-pkg"}, "my_pkg"),
        ({"local": "../shared_macros"}, "shared_macros"),
        ("not a mapping", None),
    ],
)
def test_package_folder_is_the_name_dbt_deps_installs_under(entry, folder):
    assert package_folder(entry) == folder


def write_project(example: Path, packages: str | None, vendored: dict[str, bool]) -> Path:
    """An example folder with `packages` as its packages.yml and dbt_packages/<name> (full when True, empty when
    False, as a git submodule pointer leaves it)."""
    example.mkdir(parents=True)
    if packages is not None:
        (example / "packages.yml").write_text(packages)
    for name, full in vendored.items():
        (example / "dbt_packages" / name).mkdir(parents=True)
        if full:
            (example / "dbt_packages" / name / "dbt_project.yml").write_text(f"name: {name}\n")
    return example


PACKAGES = """packages:
  - git: "https://github.com/jwills/dbt-external-tables.git"
    revision: 02ce85f0e6a5bf835a6313981fc570300ec7132d
  - package: dbt-labs/dbt_utils
    version: 0.8.6
  - package: calogica/dbt_date
    version: 0.7.2
"""


def test_missing_packages_are_named_with_why_and_the_command_that_installs_them(tmp_path):
    example = write_project(tmp_path / "chinook001", PACKAGES, {"dbt_external_tables": False, "dbt_utils": True})
    missing = missing_packages(example)
    assert missing == ["dbt_external_tables (an empty folder: a git submodule pointer)", "dbt_date (not vendored)"]
    assert packages_status(example, missing) == "dbt deps needed"
    assert install_advice(example, missing) == (
        "dbt packages not installed: dbt_external_tables (an empty folder: a git submodule pointer), dbt_date (not "
        f"vendored); with network access, run once: cd {example} && dbt deps"
    )


@pytest.mark.parametrize(
    ("packages", "vendored", "status"),
    [
        (None, {}, "none"),
        ("packages: []\n", {}, "none"),
        ("packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.0.0\n", {"dbt_utils": True}, "vendored"),
    ],
)
def test_packages_status_without_anything_missing(tmp_path, packages, vendored, status):
    example = write_project(tmp_path / "example", packages, vendored)
    assert missing_packages(example) == []
    assert packages_status(example, []) == status
    assert install_advice(example, []) == ""


@pytest.mark.parametrize(
    ("instance_id", "checks", "words"),
    [
        ("tickit001", Checks("redshift.duckdb"), ["'redshift.duckdb' where upstream has 'tickit.duckdb'"]),
        ("apple_store001", Checks("playbook.duckdb"), ["'playbook.duckdb' where upstream has 'apple_store.duckdb'"]),
        ("airbnb001", Checks("airbnb.duckdb", ["dim_listings_hosts", "daily_agg_reviews", "mom_agg_reviews"]),
         ["condition_tabs is", "daily_agg_reviews was dropped"]),
    ],
)
def test_an_old_evaluator_entry_says_what_changed_upstream_and_what_to_update(instance_id, checks, words):
    update = evaluator_update(instance_id, checks)
    for word in [*words, "2025-06-26", "9ba9e27c", "update evaluation_suite/gold/spider2_eval.jsonl from upstream"]:
        assert word in update


def test_a_current_or_unrelated_evaluator_entry_needs_no_update():
    assert evaluator_update("tickit001", Checks("tickit.duckdb", ["fct_sales"])) == ""
    assert evaluator_update("airbnb001", Checks("airbnb.duckdb", ["dim_listings_hosts", "mom_agg_reviews"])) == ""
    assert evaluator_update("playbook001", Checks("playbook.duckdb")) == ""
    assert evaluator_update("tickit001", None) == ""


def test_the_shipped_facts_agree_with_a_current_evaluator_config():
    if not SHARED_EVALUATION.is_file():
        pytest.skip(f"no current Spider2-DBT evaluator config at {SHARED_EVALUATION}")
    entries = [json.loads(line) for line in SHARED_EVALUATION.read_text().splitlines() if line.strip()]
    current = {entry["instance_id"]: parse_checks(entry["evaluation"]) for entry in entries}
    for instance_id in evaluator_updates()["entries"]:
        assert evaluator_update(instance_id, current[instance_id]) == ""


# ------------------------------------------------------------------------------------------------ through pytest


def rewrite_evaluation(suite_root: Path, changes: dict[str, dict]) -> None:
    """Replace evaluator parameters of some instances in the suite's spider2_eval.jsonl."""
    path = suite_root / "evaluation_suite" / "gold" / "spider2_eval.jsonl"
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    for entry in entries:
        entry["evaluation"]["parameters"].update(changes.get(entry["instance_id"], {}))
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))


def test_preflight_reports_hygiene_without_running_agents(pytester, run, tiny_suite):
    checkout = tiny_suite(["tiny001", "tiny002", "tiny003"], tiny002={"gold": False})
    suite_root = checkout / "spider2-dbt"
    start = suite_root / "examples" / "tiny003" / "tiny.duckdb"
    (suite_root / "evaluation_suite" / "gold" / "tiny003" / "tiny.duckdb").write_bytes(start.read_bytes())
    rewrite_evaluation(suite_root, {"tiny003": {"condition_tabs": ["raw_orders"]}})  # a table the start has

    result = run(f"--spider2-root={checkout}", "--spider2-check", "--spider2-agent=cmd:exit 1")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "instance*example*start_db*gold*gold_name*eval_config*packages*free_pass",
        "tiny001*ok*ok*ok*ok*-*none*no",
        "tiny002*ok*ok*missing*ok*-*none*-",
        "tiny003*ok*ok*ok*ok*-*none*yes",
    ])
    result.stdout.fnmatch_lines(["*tiny003*the start database already passes*"])
    assert not (pytester.path / "spider2-results" / "logs").exists()


def test_preflight_on_an_old_evaluator_config_and_missing_packages(run, tiny_suite):
    checkout = tiny_suite(["tickit001", "airbnb001", "chinook001"])
    suite_root = checkout / "spider2-dbt"
    gold = suite_root / "evaluation_suite" / "gold" / "tickit001"
    (gold / "tickit.duckdb").rename(gold / "redshift.duckdb")  # as the gold was named before mid-2025
    rewrite_evaluation(suite_root, {
        "tickit001": {"gold": "redshift.duckdb"},
        "airbnb001": {"condition_tabs": ["orders", "daily_agg_reviews"], "condition_cols": [[0], [0]],
                      "ignore_orders": [True, True]},
    })
    example = suite_root / "examples" / "chinook001"
    (example / "packages.yml").write_text(PACKAGES)
    (example / "dbt_packages" / "dbt_external_tables").mkdir(parents=True)

    result = run(f"--spider2-root={checkout}", "--spider2-check", "--spider2-no-known-issues")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "instance*eval_config*packages*free_pass",
        "airbnb001 *outdated *none *",
        "chinook001 * - *dbt deps needed *",
        "tickit001 *differs (redshift.duckdb vs tickit.duckdb) *outdated *none *",
    ])
    result.stdout.fnmatch_lines([
        "what to do:",
        "  airbnb001: evaluator config outdated: condition_tabs is [[]'orders', 'daily_agg_reviews'] where upstream "
        "has [[]'dim_listings_hosts', 'mom_agg_reviews']*daily_agg_reviews was dropped*",
        f"  chinook001: dbt packages not installed: dbt_external_tables (an empty folder: a git submodule pointer), "
        f"dbt_utils (not vendored), dbt_date (not vendored); with network access, run once: cd {example} && dbt deps",
        "  tickit001: evaluator config outdated: gold is 'redshift.duckdb' where upstream has 'tickit.duckdb'*",
    ])
