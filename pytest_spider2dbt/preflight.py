"""Preflight (`--spider2-check`): the hygiene of each instance, checked without running any agent."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from .collect import DEFAULT_MAX_RESULT_MB, locate_result, target_db_path
from .judge import judge_instance
from .suite import Instance

COLUMNS = ("example", "start_db", "gold", "gold_name", "packages", "free_pass")


@dataclass(frozen=True)
class Hygiene:
    """One row of the preflight table; each field is a short word a person can scan."""

    example: str
    start_db: str
    gold: str
    gold_name: str
    packages: str
    free_pass: str

    def problems(self) -> list[str]:
        """What makes the instance meaningless to run: missing parts, or a start that already passes."""
        found = [f"{name} {value}" for name, value in asdict(self).items() if value == "missing"]
        if self.free_pass == "yes":
            found.append("the start database already passes: the instance grades no work")
        return found

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def inspect(instance: Instance) -> Hygiene:
    example = instance.example_dir
    found = locate_result(example, DEFAULT_MAX_RESULT_MB * 2**20) if example.is_dir() else None
    start = found if isinstance(found, Path) else None
    gold = instance.gold_path
    gold_present = gold is not None and gold.is_file()
    return Hygiene(
        example="ok" if example.is_dir() else "missing",
        start_db="ok" if start else "missing",
        gold="ok" if gold_present else "missing",
        gold_name=gold_name_status(example, gold),
        packages=packages_status(example),
        free_pass=free_pass_status(instance, start) if gold_present else "-",
    )


def gold_name_status(example: Path, gold: Path | None) -> str:
    target = target_db_path(example) if example.is_dir() else None
    if gold is None or target is None:
        return "-"
    return "ok" if gold.name == target.name else f"differs ({gold.name} vs {target.name})"


def packages_status(example: Path) -> str:
    """`none`, `vendored`, or `dbt deps needed` when packages.yml names packages that are not shipped."""
    if not (example / "packages.yml").is_file() and not (example / "dependencies.yml").is_file():
        return "none"
    vendored = example / "dbt_packages"
    return "vendored" if vendored.is_dir() and any(vendored.iterdir()) else "dbt deps needed"


def free_pass_status(instance: Instance, start: Path | None) -> str:
    if start is None or instance.checks is None:
        return "-"
    return "yes" if judge_instance(instance, start).score else "no"


def table(rows: dict[str, Hygiene]) -> list[str]:
    """The preflight table as text lines, one row per instance."""
    header = ("instance", *COLUMNS)
    body = [(instance_id, *asdict(h).values()) for instance_id, h in sorted(rows.items())]
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    return [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *body]
    ]
