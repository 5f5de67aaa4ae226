"""Small operations on DuckDB files that several stages share: quoting a path for SQL, folding a WAL."""

from __future__ import annotations

from pathlib import Path


def sql_string(text: str) -> str:
    """A SQL string literal holding `text`."""
    return "'" + text.replace("'", "''") + "'"


def checkpoint(database: Path) -> None:
    """Fold the database's write-ahead log into the file, so that the file alone is complete."""
    import duckdb  # imported on use: the plugin loads in every pytest run and must start fast

    with duckdb.connect(str(database)) as connection:
        connection.execute("CHECKPOINT")
