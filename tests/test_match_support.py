"""Shared helpers of the judge's tests (no tests here): building DuckDB files, the official code, and `judged`.

The official evaluator is loaded at run time from ``../shared/spider2-official/`` (two stand-in modules make it
importable: ``google.cloud.bigquery``, which ``duckdb_match`` never uses, and ``tqdm``). Tests that need it skip
with the reason when it is absent; :func:`judged` then compares with ``pytest_spider2dbt.match.official`` only.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest

from pytest_spider2dbt.match import FAST_PATH_MIN_CELLS, MatchReport, duckdb_match, official

OFFICIAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "spider2-official"
SPIDER2_DUCKDB = Path(__file__).resolve().parents[2] / "shared" / "spider2-data" / "duckdb"

Build = Callable[..., str]


@functools.cache
def official_code() -> ModuleType | None:
    """The real official ``eval_utils`` module, or None when the folder is absent."""
    if not (OFFICIAL_DIR / "eval_utils.py").is_file():
        return None
    stubs = Path(tempfile.mkdtemp(prefix="spider2-official-stubs-"))
    (stubs / "google" / "cloud").mkdir(parents=True)
    for package in ("google", "google/cloud"):
        (stubs / package / "__init__.py").write_text("")
    (stubs / "google" / "cloud" / "bigquery.py").write_text("")
    (stubs / "tqdm.py").write_text("def tqdm(iterable, **kwargs):\n    return iterable\n")
    sys.path[:0] = [str(stubs), str(OFFICIAL_DIR)]
    return importlib.import_module("eval_utils")


needs_official = pytest.mark.skipif(
    official_code() is None, reason=f"the official Spider2 evaluator is not at {OFFICIAL_DIR}"
)
needs_spider2_data = pytest.mark.skipif(
    not SPIDER2_DUCKDB.is_dir(), reason=f"the real Spider2 databases are not at {SPIDER2_DUCKDB}"
)


def official_score(result: Any, gold: Any, *config: Any) -> int:
    """The real official score as evaluate.py gives it (any exception is 0)."""
    code = official_code()
    assert code is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return int(code.duckdb_match(result, gold, *config))
        except Exception:
            return 0


def reference_score(result: Any, gold: Any, *config: Any) -> int:
    """The real official score when it is present, else the one of match.official."""
    if official_code() is not None:
        return official_score(result, gold, *config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return official.duckdb_match(result, gold, *config)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """A folder for test databases, in memory when the machine has /dev/shm (DuckDB syncs every file it closes)."""
    shared_memory = Path("/dev/shm")
    if shared_memory.is_dir() and os.access(shared_memory, os.W_OK):
        with tempfile.TemporaryDirectory(dir=shared_memory, prefix="spider2-match-") as directory:
            yield Path(directory)
    else:
        yield tmp_path


@pytest.fixture
def build(scratch: Path) -> Build:
    """build(*sql) -> path of a new DuckDB file made by running the statements."""
    numbers = itertools.count()

    def make(*statements: str) -> str:
        path = scratch / f"db{next(numbers)}.duckdb"
        with duckdb.connect(str(path)) as connection:
            for statement in statements:
                connection.execute(statement)
        return str(path)

    return make


def table(name: str, columns: str, *rows: str) -> str:
    """CREATE TABLE name AS VALUES ... with the given column definitions, e.g. 'a INTEGER, b VARCHAR'."""
    parts = re.split(r",(?![^()]*\))", columns)
    names = [part.split()[0] for part in parts]
    types = [" ".join(part.split()[1:]) for part in parts]
    if not rows:
        return f"CREATE TABLE {name} ({columns})"
    body = ", ".join(f"({row})" for row in rows)
    casts = zip(names, types, strict=True)
    select = ", ".join(f"CAST({column} AS {sql_type}) AS {column}" for column, sql_type in casts)
    return f"CREATE TABLE {name} AS SELECT {select} FROM (VALUES {body}) AS v({', '.join(names)})"


_copies = itertools.count()


def enlarged(paths: list[str], directory: Path) -> list[str] | None:
    """Copies of the files whose small tables repeat their rows (in order) enough times to have more than
    FAST_PATH_MIN_CELLS cells, a table of one name the same number of times in every file; None when there is
    nothing to repeat or a file holds more than plain tables of the default schema."""
    targets = [directory / f"enlarged{next(_copies)}_{Path(path).name}" for path in paths]
    connections = [duckdb.connect(str(target)) for target in targets]
    try:
        listings = [_plain_tables(connection, path) for connection, path in zip(connections, paths, strict=True)]
        if any(listing is None for listing in listings):
            return None
        smallest: dict[str, int] = {}
        for name, cells in itertools.chain.from_iterable(listing or [] for listing in listings):
            smallest[name] = min(smallest.get(name, cells), cells)
        copies = {name: FAST_PATH_MIN_CELLS // cells + 1 for name, cells in smallest.items() if cells}
        if all(count == 1 for count in copies.values()):
            return None
        for connection, listing in zip(connections, listings, strict=True):
            for name, _ in listing or []:
                connection.execute(
                    f'CREATE TABLE "{name}" AS SELECT t.* EXCLUDE (__row) FROM (SELECT *, rowid AS __row FROM '
                    f'source.main."{name}") t, range({copies.get(name, 1)}) r(__copy) ORDER BY __copy, __row'
                )
        return [str(target) for target in targets]
    finally:
        for connection in connections:
            connection.close()


def _plain_tables(connection: duckdb.DuckDBPyConnection, path: str) -> list[tuple[str, int]] | None:
    """(name, cells) of every table of the file attached as `source`, or None unless it holds only tables of
    its default schema."""
    try:
        connection.execute(f"ATTACH '{path}' AS source (READ_ONLY)")
    except duckdb.Error:
        return None
    objects = connection.execute(
        "SELECT schema_name, table_name, column_count FROM duckdb_tables() WHERE database_name = 'source' "
        "UNION ALL SELECT schema_name, view_name, 0 FROM duckdb_views() WHERE database_name = 'source' "
        "AND NOT internal"
    ).fetchall()
    if any(schema != "main" or not width for schema, _, width in objects):
        return None
    return [
        (name, width * connection.execute(f'SELECT count(*) FROM source.main."{name}"').fetchall()[0][0])
        for _, name, width in objects
    ]


def judged(result: str, gold: str, *config: Any, both_sizes: bool = True, **options: Any) -> MatchReport:
    """Our verdict, checked against the official one (the real code when present: the differential tests check
    match.official against it), on the files as given and, with `both_sizes`, on copies whose rows repeat past the
    fast-path threshold; the report of the files as given."""
    report = duckdb_match(result, gold, *config, **options)
    assert report.score == reference_score(result, gold, *config), report.render()
    assert report.strict_score <= report.score
    directory = Path(gold).parent
    copies = enlarged([result, gold], directory) if both_sizes and os.access(directory, os.W_OK) else None
    if copies is not None:
        large = duckdb_match(*copies, *config, **options)
        assert large.score == reference_score(*copies, *config), large.render()
        if report.score == large.score:
            assert large.category == report.category
    return report
