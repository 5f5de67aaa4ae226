from __future__ import annotations

import hashlib
import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

# Inner in-process runs import the judge (numpy, pandas) on first use, and pytester forgets modules an inner run
# imported; numpy cannot be imported twice in one process, so the judge is imported once, here.
import pytest_spider2dbt.match  # noqa: F401

# Inner pytest runs never need hypothesis's plugin (it costs about a second in every subprocess run).
# Inner runs report no unraisable or thread exceptions (pytest collects garbage several times for that at every
# exit, a fifth of an inner run's time) and load no hypothesis plugin.
INNER = ("-p", "no:hypothesispytest", "-p", "no:unraisableexception", "-p", "no:threadexception",
         "-W", "ignore::pytest.PytestAssertRewriteWarning")

# An agent that does what the tiny suite asks: build `orders` from `raw_orders` in the profile's database.
SOLVING_AGENT = textwrap.dedent(
    """
    import os, duckdb
    with duckdb.connect(os.environ["SPIDER2_DB_PATH"]) as con:
        con.execute("CREATE OR REPLACE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders")
    """
)


def write_tiny_instance(suite_root: Path, instance_id: str, *, gold: bool = True, example: bool = True) -> dict:
    """One dbt-on-DuckDB instance: start db with `raw_orders`, gold db with `orders` = doubled amounts."""
    name = instance_id.rstrip("0123456789")
    example_dir = suite_root / "examples" / instance_id
    if example:
        (example_dir / "models").mkdir(parents=True)
        (example_dir / "dbt_project.yml").write_text(f"name: {name}\nprofile: {name}\nversion: '1.0'\n")
        (example_dir / "profiles.yml").write_text(
            f"{name}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: \"./{name}.duckdb\"\n"
        )
        with duckdb.connect(str(example_dir / f"{name}.duckdb")) as con:
            con.execute(
                "CREATE TABLE raw_orders AS SELECT i AS id, i * 1.5 AS amount, DATE '2024-01-01' + i::INTEGER AS day "
                "FROM range(1, 6) t(i)"
            )
    if gold:
        gold_dir = suite_root / "evaluation_suite" / "gold" / instance_id
        gold_dir.mkdir(parents=True)
        with duckdb.connect(str(gold_dir / f"{name}.duckdb")) as con:
            con.execute(
                "CREATE TABLE orders AS SELECT i AS id, i * 3.0 AS amount, DATE '2024-01-01' + i::INTEGER AS day "
                "FROM range(1, 6) t(i)"
            )
    return {
        "instruction": {"instance_id": instance_id, "instruction": f"Build orders for {instance_id}.", "type": "DBT"},
        "evaluation": {
            "instance_id": instance_id,
            "evaluation": {
                "func": "duckdb_match",
                "parameters": {
                    "gold": f"{name}.duckdb",
                    "condition_tabs": ["orders"],
                    "condition_cols": [[0, 1, 2]],
                    "ignore_orders": [True],
                },
            },
        },
    }


def write_tiny_suite(checkout: Path, ids: list[str], **per_instance: dict) -> Path:
    """A Spider2-shaped checkout at `checkout` holding tiny instances; returns the checkout root."""
    suite_root = checkout / "spider2-dbt"
    entries = [write_tiny_instance(suite_root, i, **per_instance.get(i, {})) for i in ids]
    write_jsonl(suite_root / "examples" / "spider2-dbt.jsonl", [e["instruction"] for e in entries])
    write_jsonl(suite_root / "evaluation_suite" / "gold" / "spider2_eval.jsonl", [e["evaluation"] for e in entries])
    return checkout


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def tree_digest(root: Path) -> str:
    """A digest of every file's path and bytes under a folder (symlinks by their target, never followed)."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_symlink():
            digest.update(b"->" + os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests (real dbt, child pytest runs) go first. Under `--dist worksteal` (addopts) each worker starts on
    its own half of the list, so one worker begins with the long tests and builds the embedded demo once; the
    other, done with its short half, takes over long tests the first has not reached, and both end together."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session", autouse=True)
def unsandboxed_by_default() -> Iterator[None]:
    """Inner runs use no sandbox unless a test asks for one (`--spider2-sandbox=bwrap` wins over this variable):
    their agents are scripts in pytester folders that a sandbox would hide."""
    previous = os.environ.get("SPIDER2_SANDBOX")
    os.environ["SPIDER2_SANDBOX"] = "none"
    yield
    if previous is None:
        del os.environ["SPIDER2_SANDBOX"]
    else:
        os.environ["SPIDER2_SANDBOX"] = previous


@pytest.fixture(scope="session", autouse=True)
def demo_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The embedded demo is built once per test session into a temporary cache, never the user's (xdist workers
    share it: the builder's lock lets one build while the others wait)."""
    base = tmp_path_factory.getbasetemp()
    cache = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "demo-cache"
    previous = os.environ.get("SPIDER2_DEMO_CACHE")
    os.environ["SPIDER2_DEMO_CACHE"] = str(cache)
    yield cache
    if previous is None:
        del os.environ["SPIDER2_DEMO_CACHE"]
    else:
        os.environ["SPIDER2_DEMO_CACHE"] = previous


@pytest.fixture
def tree_checksum() -> Callable[[Path], str]:
    return tree_digest


@pytest.fixture
def tiny_suite(pytester: pytest.Pytester) -> Callable[..., Path]:
    """Factory writing a tiny Spider2 checkout under the pytester dir."""

    def make(ids: tuple[str, ...] | list[str] = ("tiny001", "tiny002"), **per_instance: dict) -> Path:
        return write_tiny_suite(pytester.path / "Spider2", list(ids), **per_instance)

    return make


@pytest.fixture
def script_agent(pytester: pytest.Pytester) -> Callable[[str, str], str]:
    """Factory: write a Python agent script under the pytester dir and return its `cmd:` agent spec."""

    def make(name: str, source: str) -> str:
        script = pytester.path / f"{name}.py"
        script.write_text(source)
        return f"cmd:{sys.executable} {script}"

    return make


@pytest.fixture
def solving_agent(script_agent: Callable[[str, str], str]) -> str:
    """A `cmd:` agent spec that solves the tiny suite."""
    return script_agent("solve", SOLVING_AGENT)


@pytest.fixture
def run(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """Run pytest in the pytester dir, in this process (xdist off: most behaviour does not depend on workers)."""

    def run_pytest(*args: str) -> pytest.RunResult:
        return pytester.runpytest("-p", "no:xdist", *INNER, *args)

    return run_pytest


@pytest.fixture(params=["serial", "xdist"])
def run_both(request: pytest.FixtureRequest, pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """Run pytest once serially and once with `-n 2`: for behaviour that workers change."""

    def run_pytest(*args: str) -> pytest.RunResult:
        extra = ["-n", "2"] if request.param == "xdist" else ["-p", "no:xdist"]
        return pytester.runpytest(*extra, *INNER, *args)

    run_pytest.mode = request.param  # type: ignore[attr-defined]
    return run_pytest


@pytest.fixture
def run_subprocess(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """Run pytest in a child process: for signals, killed processes and a fresh interpreter."""

    def run_pytest(*args: str, timeout: float = 300) -> pytest.RunResult:
        return pytester.runpytest_subprocess(*INNER, *args, timeout=timeout)

    return run_pytest
