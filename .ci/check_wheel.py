"""Check that a built wheel holds every file of the package, the data the plugin needs at run time above all.

Run: `python .ci/check_wheel.py dist/pytest_spider2dbt-*.whl` from the checkout. Exits non-zero, naming what is
missing, when the wheel lacks a file git tracks in the checkout's package (setuptools silently leaves out data
files that `[tool.setuptools.package-data]` does not name).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = "pytest_spider2dbt"
# What the plugin reads at run time besides its modules: named, so that a missing one is reported by name.
REQUIRED = ("demo_suite/spider2-dbt.jsonl", "demo_suite/spider2_eval.jsonl", "demo_suite/examples/",
            "demo_suite/solutions/", "report/templates/report.html.j2", "known_issues.txt",
            "evaluator_updates.json", "py.typed")


def package_files(checkout: Path) -> set[str]:
    """The package's files as git tracks them (a file left over from a test run is no part of it)."""
    listed = subprocess.run(["git", "-C", str(checkout), "ls-files", "-z", "--", PACKAGE],
                            capture_output=True, text=True, check=True).stdout
    return {name for name in listed.split("\0") if name}


def main(wheel: Path, checkout: Path) -> int:
    with zipfile.ZipFile(wheel) as archive:
        names = {info.filename for info in archive.infolist() if not info.is_dir()}
    missing = sorted(package_files(checkout) - names)
    absent = [item for item in REQUIRED if not any(name.startswith(f"{PACKAGE}/{item}") for name in names)]
    for item in absent:
        print(f"{wheel.name}: holds no {PACKAGE}/{item}", file=sys.stderr)
    for name in missing:
        print(f"{wheel.name}: lacks {name}", file=sys.stderr)
    if missing or absent:
        return 1
    print(f"{wheel.name}: {len(names)} files, every file of {PACKAGE}/ among them")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python .ci/check_wheel.py WHEEL")
    sys.exit(main(Path(sys.argv[1]), Path(__file__).resolve().parent.parent))
