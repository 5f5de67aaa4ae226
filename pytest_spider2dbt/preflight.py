"""Preflight (`--spider2-check`): the hygiene of each instance, checked without running any agent."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .collect import DEFAULT_MAX_RESULT_MB, locate_result, target_db_path
from .judge import judge_instance
from .suite import Checks, Instance

COLUMNS = ("example", "start_db", "gold", "gold_name", "eval_config", "packages", "free_pass")
EVALUATOR_UPDATES = Path(__file__).with_name("evaluator_updates.json")
PACKAGE_FILES = ("packages.yml", "dependencies.yml")


@dataclass(frozen=True)
class Hygiene:
    """One row of the preflight table in short words a person can scan, then what to do about it, in sentences."""

    example: str
    start_db: str
    gold: str
    gold_name: str
    eval_config: str
    packages: str
    free_pass: str
    eval_config_update: str = ""
    packages_install: str = ""

    def problems(self) -> list[str]:
        """What makes the instance meaningless to run: missing parts, an outdated evaluator entry, or a start that
        already passes."""
        found = [f"{name} {value}" for name, value in asdict(self).items() if value == "missing"]
        if self.eval_config_update:
            found.append(self.eval_config_update)
        if self.free_pass == "yes":
            found.append("the start database already passes: the instance grades no work")
        return found

    def advice(self) -> list[str]:
        return [text for text in (self.eval_config_update, self.packages_install) if text]

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def inspect(instance: Instance) -> Hygiene:
    example = instance.example_dir
    found = locate_result(example, DEFAULT_MAX_RESULT_MB * 2**20) if example.is_dir() else None
    start = found if isinstance(found, Path) else None
    gold = instance.gold_path
    gold_present = gold is not None and gold.is_file()
    update = evaluator_update(instance.instance_id, instance.checks)
    missing = missing_packages(example) if example.is_dir() else []
    return Hygiene(
        example="ok" if example.is_dir() else "missing",
        start_db="ok" if start else "missing",
        gold="ok" if gold_present else "missing",
        gold_name=gold_name_status(example, gold),
        eval_config=evaluator_status(instance.instance_id, instance.checks, update),
        packages=packages_status(example, missing),
        free_pass=free_pass_status(instance, start) if gold_present else "-",
        eval_config_update=update,
        packages_install=install_advice(example, missing),
    )


def gold_name_status(example: Path, gold: Path | None) -> str:
    target = target_db_path(example) if example.is_dir() else None
    if gold is None or target is None:
        return "-"
    return "ok" if gold.name == target.name else f"differs ({gold.name} vs {target.name})"


@cache
def evaluator_updates() -> dict[str, Any]:
    """The shipped facts: upstream's current values of the evaluator entries that changed (see the JSON file)."""
    updates: dict[str, Any] = json.loads(EVALUATOR_UPDATES.read_text(encoding="utf-8"))
    return updates


def checks_value(checks: Checks, parameter: str) -> Any:
    """An evaluator parameter as spider2_eval.jsonl names it (`gold` is the one renamed in Checks)."""
    return checks.gold_file if parameter == "gold" else getattr(checks, parameter)


def evaluator_update(instance_id: str, checks: Checks | None) -> str:
    """What to update when the suite's evaluator entry predates upstream's current one; empty when it does not."""
    facts = evaluator_updates()
    entry = facts["entries"].get(instance_id)
    if entry is None or checks is None:
        return ""
    differences = [
        f"{parameter} is {checks_value(checks, parameter)!r} where upstream has {current!r}"
        for parameter, current in entry["current"].items()
        if checks_value(checks, parameter) != current
    ]
    if not differences:
        return ""
    return (f"evaluator config outdated: {'; '.join(differences)} (upstream changed it on {facts['date']} in commit "
            f"{facts['commit'][:8]}: {entry['change']}); update evaluation_suite/gold/spider2_eval.jsonl from "
            "upstream (git pull in the Spider2 checkout), then re-run its setup.py if the gold file is missing")


def evaluator_status(instance_id: str, checks: Checks | None, update: str) -> str:
    if checks is None or instance_id not in evaluator_updates()["entries"]:
        return "-"
    return "outdated" if update else "current"


def declared_packages(example: Path) -> list[str]:
    """The folder names that the packages in packages.yml (or dependencies.yml) install under dbt_packages/."""
    names = []
    for file_name in PACKAGE_FILES:
        path = example / file_name
        if path.is_file():
            try:
                document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError:
                continue
            entries = document.get("packages") if isinstance(document, dict) else None
            names += [name for entry in entries or [] if (name := package_folder(entry))]
    return names


def package_folder(entry: Any) -> str | None:
    """`dbt-labs/dbt_utils` -> dbt_utils; a git URL `.../dbt-external-tables.git` -> dbt_external_tables."""
    if not isinstance(entry, dict):
        return None
    if isinstance(entry.get("package"), str):
        return str(entry["package"]).rstrip("/").rsplit("/", 1)[-1]
    if isinstance(entry.get("git"), str):
        source = entry.get("subdirectory") or entry["git"]
        return str(source).rstrip("/").rsplit("/", 1)[-1].removesuffix(".git").replace("-", "_")
    if isinstance(entry.get("local"), str):
        return Path(entry["local"]).name
    name = entry.get("name")
    return name if isinstance(name, str) else None


def missing_packages(example: Path) -> list[str]:
    """Declared packages not installed in dbt_packages/, each with why (absent, or an empty submodule folder)."""
    missing = []
    for name in declared_packages(example):
        folder = example / "dbt_packages" / name
        if (folder / "dbt_project.yml").is_file():
            continue
        empty = folder.is_dir() and not any(folder.iterdir())
        missing.append(f"{name} (an empty folder: a git submodule pointer)" if empty else f"{name} (not vendored)")
    return missing


def packages_status(example: Path, missing: list[str]) -> str:
    """`none`, `vendored`, or `dbt deps needed` when declared packages are not installed."""
    if missing:
        return "dbt deps needed"
    return "vendored" if declared_packages(example) else "none"


def install_advice(example: Path, missing: list[str]) -> str:
    """The one-time command that installs the missing packages into the example, so that offline runs work."""
    if not missing:
        return ""
    return (f"dbt packages not installed: {', '.join(missing)}; with network access, run once: "
            f"cd {example} && dbt deps")


def free_pass_status(instance: Instance, start: Path | None) -> str:
    if start is None or instance.checks is None:
        return "-"
    return "yes" if judge_instance(instance, start).score else "no"


def table(rows: dict[str, Hygiene]) -> list[str]:
    """The preflight table as text lines, one row per instance, then what to do about each instance that needs it."""
    header = ("instance", *COLUMNS)
    body = [(instance_id, *(getattr(h, column) for column in COLUMNS)) for instance_id, h in sorted(rows.items())]
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *body]
    ]
    advice = [f"  {instance_id}: {text}" for instance_id, h in sorted(rows.items()) for text in h.advice()]
    return lines + (["what to do:", *advice] if advice else [])

