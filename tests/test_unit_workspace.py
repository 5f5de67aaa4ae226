"""Unit tests of the private workspace (workspace.py), what produced a score (provenance.py) and the shared DuckDB
file operations (duckdb_files.py)."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from pytest_spider2dbt.duckdb_files import checkpoint, sql_string
from pytest_spider2dbt.provenance import (
    DISTRIBUTIONS,
    collect_provenance,
    file_sha256,
    git_commit,
    header_lines,
    version_of,
)
from pytest_spider2dbt.suite import Instance
from pytest_spider2dbt.workspace import WorkspaceError, make_workspace

# ----------------------------------------------------------------------------------------------- workspace


def instance(suite_root: Path, instance_id: str = "shop001") -> Instance:
    return Instance(instance_id, "Build orders.", suite_root / "examples" / instance_id,
                    suite_root / "evaluation_suite" / "gold" / instance_id, None, suite_root)


def write_example(suite_root: Path, files: dict[str, str], instance_id: str = "shop001") -> Path:
    example = suite_root / "examples" / instance_id
    for name, text in files.items():
        (example / name).parent.mkdir(parents=True, exist_ok=True)
        (example / name).write_text(text)
    return example


def test_the_workspace_is_a_copy_of_the_example_under_the_base(tmp_path: Path):
    suite_root = tmp_path / "Spider2" / "spider2-dbt"
    example = write_example(suite_root, {"dbt_project.yml": "name: shop\n", "models/orders.sql": "select 1\n",
                                         "shop.duckdb": "start database"})
    project = make_workspace(instance(suite_root), tmp_path / "ws")
    assert project == tmp_path / "ws" / "shop001"
    assert sorted(p.relative_to(project).as_posix() for p in project.rglob("*")) == [
        "dbt_project.yml", "models", "models/orders.sql", "shop.duckdb"]
    assert (project / "models" / "orders.sql").read_text() == "select 1\n"
    assert (example / "shop.duckdb").read_text() == "start database"


def test_the_workspace_leaves_dbt_output_behind_and_keeps_the_start_databases_wal(tmp_path: Path):
    suite_root = tmp_path / "Spider2" / "spider2-dbt"
    write_example(suite_root, {"dbt_project.yml": "name: shop\n", "target/manifest.json": "{}",
                               "logs/dbt.log": "old run", ".user.yml": "id: 1", "shop.duckdb.wal": "wal"})
    project = make_workspace(instance(suite_root), tmp_path / "ws")
    assert sorted(p.name for p in project.iterdir()) == ["dbt_project.yml", "shop.duckdb.wal"]


def test_the_workspace_keeps_model_folders_named_like_dbt_output(tmp_path: Path):
    suite_root = tmp_path / "Spider2" / "spider2-dbt"
    write_example(suite_root, {"dbt_project.yml": "name: shop\n", "models/logs/stg_logs.sql": "select 1\n",
                               "models/target/stg_target.sql": "select 2\n"})
    project = make_workspace(instance(suite_root), tmp_path / "ws")
    assert (project / "models" / "logs" / "stg_logs.sql").is_file()
    assert (project / "models" / "target" / "stg_target.sql").is_file()


def test_a_symlink_in_the_example_is_copied_as_a_file(tmp_path: Path):
    suite_root = tmp_path / "Spider2" / "spider2-dbt"
    (tmp_path / "shared.sql").write_text("select 3\n")
    example = write_example(suite_root, {"dbt_project.yml": "name: shop\n"})
    os.symlink(tmp_path / "shared.sql", example / "shared.sql")
    project = make_workspace(instance(suite_root), tmp_path / "ws")
    assert not (project / "shared.sql").is_symlink()
    assert (project / "shared.sql").read_text() == "select 3\n"


@pytest.mark.parametrize("where", [".", "examples", "evaluation_suite/gold"])
def test_a_workspace_inside_the_spider2_tree_is_refused(tmp_path: Path, where: str):
    suite_root = tmp_path / "Spider2" / "spider2-dbt"
    write_example(suite_root, {"dbt_project.yml": "name: shop\n"})
    before = sorted(suite_root.rglob("*"))
    with pytest.raises(WorkspaceError, match="shop001.*inside the Spider2 tree"):
        make_workspace(instance(suite_root), suite_root / where / "ws")
    assert sorted(suite_root.rglob("*")) == before


def test_a_workspace_reaching_into_the_spider2_tree_through_a_symlink_is_refused(tmp_path: Path):
    suite_root = tmp_path / "Spider2" / "spider2-dbt"
    write_example(suite_root, {"dbt_project.yml": "name: shop\n"})
    os.symlink(suite_root / "examples", tmp_path / "ws")
    with pytest.raises(WorkspaceError):
        make_workspace(instance(suite_root), tmp_path / "ws")


# ---------------------------------------------------------------------------------------------- provenance


def test_version_of_an_installed_and_an_absent_distribution():
    assert version_of("pytest") == pytest.__version__
    assert version_of("no-such-distribution-xyz") == "absent"


def test_file_sha256(tmp_path: Path):
    (tmp_path / "a.jsonl").write_bytes(b"{}\n")
    assert file_sha256(tmp_path / "a.jsonl") == hashlib.sha256(b"{}\n").hexdigest()
    assert file_sha256(tmp_path / "absent") is None


def git(folder: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=unit", "-c", "user.email=unit@example.com", "-c", "commit.gpgsign=false",
         "-C", str(folder), *arguments], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_names_the_checkout_and_whether_tracked_files_changed(tmp_path: Path):
    checkout = tmp_path / "Spider2"
    (checkout / "spider2-dbt").mkdir(parents=True)
    (checkout / "spider2-dbt" / "spider2_eval.jsonl").write_text("{}\n")
    git(checkout, "init", "-q")
    git(checkout, "add", ".")
    git(checkout, "commit", "-q", "-m", "start")
    head = git(checkout, "rev-parse", "HEAD")
    assert git_commit(checkout / "spider2-dbt") == head
    (checkout / "untracked.txt").write_text("new")
    assert git_commit(checkout / "spider2-dbt") == head
    (checkout / "spider2-dbt" / "spider2_eval.jsonl").write_text("{\"changed\": 1}\n")
    assert git_commit(checkout / "spider2-dbt") == head + "+dirty"


def test_git_commit_of_a_folder_outside_any_checkout_is_none(tmp_path: Path):
    if subprocess.run(["git", "-C", str(tmp_path), "rev-parse"], capture_output=True).returncode == 0:
        pytest.skip(f"{tmp_path} lies inside a git work tree")
    assert git_commit(tmp_path) is None
    assert git_commit(tmp_path / "absent") is None


def test_collect_provenance_states_versions_suite_and_run(tmp_path: Path):
    (tmp_path / "i.jsonl").write_bytes(b"instructions")
    (tmp_path / "e.jsonl").write_bytes(b"evaluations")
    provenance = collect_provenance(
        suite_root=tmp_path, instruction_file=tmp_path / "i.jsonl", evaluation_file=tmp_path / "e.jsonl",
        agent="cmd:x", isolation="bwrap", clock="off", verdict="official", command_line=["pytest", "-x"],
    )
    assert set(provenance["versions"]) == {"python", *DISTRIBUTIONS}
    assert provenance["versions"]["python"] == platform.python_version()
    assert provenance["versions"]["pytest"] == pytest.__version__
    assert provenance["suite"] == str(tmp_path)
    assert provenance["instructions_sha256"] == hashlib.sha256(b"instructions").hexdigest()
    assert provenance["evaluation_sha256"] == hashlib.sha256(b"evaluations").hexdigest()
    assert {k: provenance[k] for k in ("agent", "isolation", "clock", "verdict", "command_line")} == {
        "agent": "cmd:x", "isolation": "bwrap", "clock": "off", "verdict": "official", "command_line": ["pytest", "-x"]}


def test_header_lines_state_the_versions_the_commit_and_the_config_checksum():
    versions = {"python": "3.11.7", "pytest-spider2dbt": "0.9", "pandas": "2.2", "numpy": "2.0", "duckdb": "1.3",
                "dbt-core": "1.10", "dbt-duckdb": "1.9", "pytest": "8.4"}
    provenance = {"versions": versions, "spider2_commit": "abc123+dirty", "evaluation_sha256": "0123456789abcdef"}
    assert header_lines(provenance) == [
        "spider2-dbt versions: plugin 0.9, python 3.11.7, pandas 2.2, duckdb 1.3, dbt-core 1.10, dbt-duckdb 1.9",
        "spider2-dbt suite commit: abc123+dirty; spider2_eval.jsonl sha256 0123456789ab",
    ]
    provenance.update(spider2_commit=None, evaluation_sha256=None)
    assert header_lines(provenance)[1] == "spider2-dbt suite commit: not a git checkout; spider2_eval.jsonl sha256 None"


# -------------------------------------------------------------------------------------------- duckdb_files


def test_sql_string_doubles_single_quotes():
    assert sql_string("it's") == "'it''s'"


@pytest.mark.parametrize("text", ["plain", "it's", "''", "a'b'c", "/tmp/o'brien/x.duckdb", "", "é ✓ \\n"])
def test_sql_string_is_a_literal_of_the_same_text(text: str):
    with duckdb.connect() as connection:
        assert connection.execute(f"SELECT {sql_string(text)}").fetchone() == (text,)


def test_checkpoint_folds_the_write_ahead_log_into_the_file(tmp_path: Path):
    writer = duckdb.connect(str(tmp_path / "writer.duckdb"))
    writer.execute("SET checkpoint_threshold = '1GB'")
    writer.execute("CREATE TABLE orders AS SELECT 42 AS amount")
    shutil.copy(tmp_path / "writer.duckdb", tmp_path / "copy.duckdb")
    shutil.copy(tmp_path / "writer.duckdb.wal", tmp_path / "copy.duckdb.wal")
    writer.close()
    checkpoint(tmp_path / "copy.duckdb")
    assert not (tmp_path / "copy.duckdb.wal").exists()
    with duckdb.connect(str(tmp_path / "copy.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT amount FROM orders").fetchall() == [(42,)]
