"""Unit tests of the collect stage: which result a workspace yields, the results folder, the submission layout."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from pytest_spider2dbt.collect import (
    METADATA,
    FolderError,
    Refused,
    ResultsFolder,
    SubmissionError,
    commit_result,
    discard_staged,
    filed_result,
    forget_result,
    locate_result,
    plain_name,
    profile_target,
    read_metadata,
    read_submission,
    sha256_of,
    stage_result,
    target_db_path,
)
from pytest_spider2dbt.collect import folder as folder_module

MB = 2**20


def write_project(project: Path, path: str | None = "./shop.duckdb", *, target: str = "dev") -> Path:
    """A dbt project whose profiles.yml target writes to `path` (no profiles.yml when None)."""
    project.mkdir(parents=True, exist_ok=True)
    (project / "dbt_project.yml").write_text("name: shop\nprofile: shop\nversion: '1.0'\n")
    if path is not None:
        (project / "profiles.yml").write_text(
            f"shop:\n  target: {target}\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{path}\"\n"
        )
    return project


def write_bytes(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\1" * size)
    return path


def make_database(path: Path, value: int = 42) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as connection:
        connection.execute(f"CREATE TABLE orders AS SELECT {value} AS amount")
    return path


def make_wal_only_database(folder: Path, name: str = "shop.duckdb") -> Path:
    """A database file whose only table lives in its write-ahead log (copied while a connection holds it open)."""
    work = folder.parent / f"{folder.name}-writer"
    work.mkdir(parents=True)
    connection = duckdb.connect(str(work / name))
    connection.execute("SET checkpoint_threshold = '1GB'")
    connection.execute("CREATE TABLE orders AS SELECT 42 AS amount")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / name, folder / name)
    shutil.copy(work / f"{name}.wal", folder / f"{name}.wal")
    connection.close()
    return folder / name


def tables_of(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return [row[0] for row in connection.execute("SHOW TABLES").fetchall()]


def digest(path: Path) -> str:
    """A digest of a file's bytes or of a folder's whole tree."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return hashlib.sha256(
        b"".join(str(p.relative_to(path)).encode() + (p.read_bytes() if p.is_file() else b"")
                 for p in sorted(path.rglob("*")))
    ).hexdigest()


@pytest.fixture
def out(tmp_path: Path) -> Iterator[ResultsFolder]:
    folder = ResultsFolder(tmp_path / "out")
    yield folder
    folder.close()


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A folder outside the results folder, with a file, that nothing may touch."""
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "precious.txt").write_text("do not touch\n")
    return folder


# ------------------------------------------------------------------------------------------------- result


def test_profile_target_is_the_path_written_in_profiles_yml(tmp_path: Path):
    assert profile_target(write_project(tmp_path / "p", "./shop.duckdb")) == "./shop.duckdb"


def test_profile_target_follows_the_profiles_target_name(tmp_path: Path):
    project = write_project(tmp_path / "p", target="prod")
    (project / "profiles.yml").write_text(
        "shop:\n  target: prod\n  outputs:\n    dev: {type: duckdb, path: dev.duckdb}\n"
        "    prod: {type: duckdb, path: prod.duckdb}\n"
    )
    assert profile_target(project) == "prod.duckdb"


@pytest.mark.parametrize(
    "profiles",
    [
        None,
        "not: [valid",
        "other:\n  outputs: {}\n",
        "shop:\n  outputs:\n    dev: {type: duckdb}\n",
        'shop:\n  outputs:\n    dev: {path: "{{ env_var(\'DB\') }}"}\n',
        "shop:\n  outputs:\n    dev: {path: ':memory:'}\n",
        "- a list\n",
    ],
    ids=["absent", "bad-yaml", "other-profile", "no-path", "jinja", "memory", "list"],
)
def test_profile_target_is_none_when_it_cannot_be_known(tmp_path: Path, profiles: str | None):
    project = write_project(tmp_path / "p", None)
    if profiles is not None:
        (project / "profiles.yml").write_text(profiles)
    assert profile_target(project) is None


def test_target_db_path_is_absolute_and_normalised(tmp_path: Path):
    project = write_project(tmp_path / "p", "./data/../shop.duckdb")
    assert target_db_path(project) == tmp_path / "p" / "shop.duckdb"
    assert target_db_path(write_project(tmp_path / "q", None)) is None


def test_target_db_path_may_lie_outside_the_project(tmp_path: Path):
    assert target_db_path(write_project(tmp_path / "p", "../elsewhere.duckdb")) == tmp_path / "elsewhere.duckdb"


def test_the_profile_target_is_the_result(tmp_path: Path):
    project = write_project(tmp_path / "p", "./shop.duckdb")
    target = write_bytes(project / "shop.duckdb", 10)
    write_bytes(project / "bigger.duckdb", 1000)
    assert locate_result(project, MB) == target


@pytest.mark.parametrize("path", ["../elsewhere.duckdb", "/tmp/elsewhere.duckdb", "~/elsewhere.duckdb",
                                  "./sub/../../elsewhere.duckdb"])
def test_a_profile_target_outside_the_project_is_refused(tmp_path: Path, path: str):
    project = write_project(tmp_path / "p", path)
    write_bytes(project / "inside.duckdb", 10)
    found = locate_result(project, MB)
    assert isinstance(found, Refused)
    assert "outside the workspace" in found.reason


def test_a_symlinked_profile_target_is_refused(tmp_path: Path):
    project = write_project(tmp_path / "p", "./shop.duckdb")
    os.symlink(write_bytes(tmp_path / "gold.duckdb", 10), project / "shop.duckdb")
    write_bytes(project / "other.duckdb", 10)
    found = locate_result(project, MB)
    assert isinstance(found, Refused)
    assert "symlink" in found.reason


def test_a_profile_target_under_a_symlinked_folder_is_refused(tmp_path: Path):
    write_bytes(tmp_path / "outside" / "shop.duckdb", 10)
    project = write_project(tmp_path / "p", "./sub/shop.duckdb")
    os.symlink(tmp_path / "outside", project / "sub")
    found = locate_result(project, MB)
    assert isinstance(found, Refused)
    assert "outside the workspace" in found.reason


def test_a_profile_target_that_is_a_folder_is_refused(tmp_path: Path):
    project = write_project(tmp_path / "p", "./shop.duckdb")
    (project / "shop.duckdb").mkdir()
    assert isinstance(locate_result(project, MB), Refused)


def test_a_profile_target_over_the_cap_is_refused_and_at_the_cap_is_taken(tmp_path: Path):
    project = write_project(tmp_path / "p", "./shop.duckdb")
    target = write_bytes(project / "shop.duckdb", 1000)
    found = locate_result(project, 999)
    assert isinstance(found, Refused)
    assert "limit" in found.reason
    assert locate_result(project, 1000) == target


def test_without_the_target_the_largest_duckdb_is_the_result(tmp_path: Path):
    project = write_project(tmp_path / "p", "./shop.duckdb")
    write_bytes(project / "small.duckdb", 10)
    largest = write_bytes(project / "models" / "deep" / "large.duckdb", 500)
    write_bytes(project / "other.db", 5000)
    assert locate_result(project, MB) == largest
    assert locate_result(write_project(tmp_path / "q", None), MB) is None


def test_files_under_dbt_packages_are_never_the_result(tmp_path: Path):
    project = write_project(tmp_path / "p", None)
    write_bytes(project / "dbt_packages" / "pkg" / "huge.duckdb", 5000)
    assert locate_result(project, MB) is None
    mine = write_bytes(project / "mine.duckdb", 10)
    assert locate_result(project, MB) == mine


def test_a_symlinked_duckdb_is_skipped_for_a_regular_one(tmp_path: Path):
    project = write_project(tmp_path / "p", None)
    os.symlink(write_bytes(tmp_path / "gold.duckdb", 5000), write_project(project) / "link.duckdb")
    regular = write_bytes(project / "sub" / "x.duckdb", 10)
    assert locate_result(project, MB) == regular


def test_a_symlinked_duckdb_alone_is_refused(tmp_path: Path):
    project = write_project(tmp_path / "p", None)
    (project / "sub").mkdir()
    os.symlink(write_bytes(tmp_path / "gold.duckdb", 10), project / "sub" / "x.duckdb")
    found = locate_result(project, MB)
    assert isinstance(found, Refused)
    assert "symlink" in found.reason


def test_a_duckdb_reached_through_a_symlinked_folder_is_not_collected(tmp_path: Path):
    write_bytes(tmp_path / "outside" / "gold.duckdb", 5000)
    project = write_project(tmp_path / "p", None)
    os.symlink(tmp_path / "outside", project / "sub")
    assert not isinstance(locate_result(project, MB), Path)


def test_a_duckdb_over_the_cap_is_skipped_for_one_within_it(tmp_path: Path):
    project = write_project(tmp_path / "p", None)
    write_bytes(project / "huge.duckdb", 5000)
    small = write_bytes(project / "small.duckdb", 10)
    assert locate_result(project, 1000) == small
    (project / "small.duckdb").unlink()
    assert isinstance(locate_result(project, 1000), Refused)


# ------------------------------------------------------------------------------------------------- folder


@pytest.mark.parametrize("name", ["shop.duckdb", "a b", ".hidden", "..."])
def test_plain_names(name: str):
    assert plain_name(name)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "/abs", "../x", "a\0b", None, 5, Path("x")])
def test_names_that_are_not_plain(name: object):
    assert not plain_name(name)


def test_a_results_folder_is_created_with_its_parents(tmp_path: Path):
    folder = ResultsFolder(tmp_path / "a" / "b" / "out")
    folder.close()
    assert (tmp_path / "a" / "b" / "out").is_dir()


def test_a_results_folder_that_is_a_symlink_is_refused(tmp_path: Path, victim: Path):
    os.symlink(victim, tmp_path / "out")
    with pytest.raises(FolderError, match="symlink"):
        ResultsFolder(tmp_path / "out")


def test_write_text_then_read_text(out: ResultsFolder):
    out.write_text("notes.txt", "héllo\n")
    out.write_text("deep.txt", "inside", subfolder=("a", "b"))
    assert out.read_text("notes.txt") == "héllo\n"
    assert out.read_text("deep.txt", subfolder=("a", "b")) == "inside"
    assert (out.path / "a" / "b" / "deep.txt").read_text() == "inside"


def test_read_text_of_something_absent_is_none(out: ResultsFolder):
    assert out.read_text("absent") is None
    assert out.read_text("absent", subfolder=("nowhere",)) is None


def test_read_text_of_a_folder_is_none(out: ResultsFolder):
    (out.path / "summary.json").mkdir()
    assert out.read_text("summary.json") is None


def test_read_text_does_not_follow_a_symlink(out: ResultsFolder, victim: Path, tmp_path: Path):
    os.symlink(victim / "precious.txt", out.path / "notes.txt")
    os.symlink(victim, out.path / "sub")
    assert out.read_text("notes.txt") is None
    assert out.read_text("precious.txt", subfolder=("sub",)) is None


def test_read_text_of_a_fifo_is_none_without_waiting(out: ResultsFolder):
    os.mkfifo(out.path / "summary.json")
    found: list[str | None] = []
    reader = threading.Thread(target=lambda: found.append(out.read_text("summary.json")), daemon=True)
    reader.start()
    reader.join(0.5)
    hung = reader.is_alive()
    if hung:  # release the reader: a writer opens and closes the FIFO
        os.close(os.open(out.path / "summary.json", os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5.0)
    assert not hung
    assert found == [None]


def test_write_text_replaces_a_symlink_instead_of_following_it(out: ResultsFolder, victim: Path):
    before = digest(victim)
    os.symlink(victim / "precious.txt", out.path / "summary.json")
    out.write_text("summary.json", "new")
    assert digest(victim) == before
    assert not (out.path / "summary.json").is_symlink()
    assert (out.path / "summary.json").read_text() == "new"


def test_write_text_replaces_the_file_instead_of_writing_into_it(out: ResultsFolder, tmp_path: Path):
    out.write_text("summary.json", "old")
    os.link(out.path / "summary.json", tmp_path / "hard-link")
    out.write_text("summary.json", "new")
    assert (tmp_path / "hard-link").read_text() == "old"
    assert (out.path / "summary.json").read_text() == "new"


def test_a_failed_write_text_leaves_the_old_file_and_no_temporary(out: ResultsFolder, monkeypatch):
    out.write_text("summary.json", "old")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(folder_module.os, "fsync", disk_full)
    with pytest.raises(OSError):
        out.write_text("summary.json", "new" * 1000)
    monkeypatch.undo()
    assert out.read_text("summary.json") == "old"
    assert out.entries() == ["summary.json"]


def test_write_text_leaves_no_temporary_file(out: ResultsFolder):
    for n in range(3):
        out.write_text("summary.json", str(n))
    assert out.entries() == ["summary.json"]


def test_write_text_through_a_symlinked_subfolder_replaces_the_symlink(out: ResultsFolder, victim: Path):
    before = digest(victim)
    os.symlink(victim, out.path / "logs")
    out.write_text("precious.txt", "overwritten?", subfolder=("logs",))
    assert digest(victim) == before
    assert not (out.path / "logs").is_symlink()


def test_a_symlink_in_place_of_the_log_folder_of_an_instance_is_replaced(out: ResultsFolder, victim: Path):
    before = digest(victim)
    (out.path / "logs").mkdir()
    os.symlink(victim, out.path / "logs" / "a001")
    out.fresh_subfolder(("logs", "a001"))
    assert digest(victim) == before
    logs = out.path / "logs" / "a001"
    assert logs.is_dir() and not logs.is_symlink()
    assert list(logs.iterdir()) == []


def test_a_symlink_in_place_of_the_logs_folder_is_replaced(out: ResultsFolder, victim: Path):
    before = digest(victim)
    os.symlink(victim, out.path / "logs")
    out.fresh_subfolder(("logs", "precious.txt"))
    assert digest(victim) == before
    assert not (out.path / "logs").is_symlink()


def test_fresh_subfolder_empties_a_real_folder_without_following_links_inside(out: ResultsFolder, victim: Path):
    before = digest(victim)
    logs = out.path / "logs" / "a001"
    logs.mkdir(parents=True)
    (logs / "old.log").write_text("old")
    os.symlink(victim, logs / "link-to-folder")
    os.symlink(victim / "precious.txt", logs / "link-to-file")
    out.fresh_subfolder(("logs", "a001"))
    assert list(logs.iterdir()) == []
    assert digest(victim) == before


def test_remove_deletes_a_tree_without_following_links(out: ResultsFolder, victim: Path):
    before = digest(victim)
    (out.path / "a001" / "deep").mkdir(parents=True)
    os.symlink(victim, out.path / "a001" / "deep" / "link")
    os.symlink(victim, out.path / "b001")
    out.remove(("a001",))
    out.remove(("b001",))
    out.remove(("absent",))
    out.remove(("absent", "child"))
    assert out.entries() == []
    assert digest(victim) == before


def test_a_symlink_in_place_of_the_lock_is_replaced_not_followed(out: ResultsFolder, victim: Path):
    before = digest(victim)
    os.symlink(victim / "precious.txt", out.path / ".lock")
    with out.locked():
        pass
    assert digest(victim) == before
    assert (out.path / ".lock").is_file() and not (out.path / ".lock").is_symlink()


def test_the_lock_file_is_never_truncated(out: ResultsFolder):
    (out.path / ".lock").write_text("held by someone\n")
    with out.locked():
        out.write_text("summary.json", "{}")
    assert (out.path / ".lock").read_text() == "held by someone\n"


def lock_is_free(out: ResultsFolder) -> bool:
    """Whether another process could take the folder's lock now."""
    fd = os.open(out.path / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_the_lock_is_exclusive_while_held_and_released_after(out: ResultsFolder):
    with out.locked():
        assert not lock_is_free(out)
    assert lock_is_free(out)


def test_sha256_of_a_regular_file_and_never_through_a_symlink(tmp_path: Path):
    file = write_bytes(tmp_path / "a.duckdb", 100)
    assert sha256_of(file) == hashlib.sha256(b"\1" * 100).hexdigest()
    os.symlink(file, tmp_path / "link.duckdb")
    assert sha256_of(tmp_path / "link.duckdb") is None
    assert sha256_of(tmp_path / "absent") is None


def test_sha256_of_a_fifo_is_none_without_waiting(tmp_path: Path):
    fifo = tmp_path / "result.duckdb"
    os.mkfifo(fifo)
    found: list[str | None] = []
    reader = threading.Thread(target=lambda: found.append(sha256_of(fifo)), daemon=True)
    reader.start()
    reader.join(0.5)
    hung = reader.is_alive()
    if hung:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5.0)
    assert not hung
    assert found == [None]


# --------------------------------------------------------------------------------------------- submission


def test_a_staged_result_is_a_settled_copy_outside_the_official_layout(out: ResultsFolder, tmp_path: Path):
    source = make_database(tmp_path / "ws" / "shop.duckdb")
    source_digest = digest(source)
    staged = stage_result(out, "a001", source, MB)
    assert staged.name == "shop.duckdb"
    assert staged.path.is_file()
    assert staged.path.is_relative_to(out.path / ".staging")
    assert staged.sha256 == hashlib.sha256(staged.path.read_bytes()).hexdigest()
    assert tables_of(staged.path) == ["orders"]
    assert read_metadata(out) == {}
    assert not (out.path / "a001").exists()
    assert digest(source) == source_digest


def test_a_database_whose_data_is_only_in_its_wal_is_filed_whole(out: ResultsFolder, tmp_path: Path):
    source = make_wal_only_database(tmp_path / "ws")
    staged = stage_result(out, "a001", source, MB)
    assert not staged.path.with_name("shop.duckdb.wal").exists()
    filed = commit_result(out, "a001", staged)
    assert sorted(os.listdir(out.path / "a001")) == ["shop.duckdb"]
    assert tables_of(filed.path) == ["orders"]
    assert filed.sha256 == hashlib.sha256(filed.path.read_bytes()).hexdigest()
    assert (tmp_path / "ws" / "shop.duckdb.wal").exists()


def test_a_symlinked_source_is_not_staged(out: ResultsFolder, tmp_path: Path):
    gold = make_database(tmp_path / "gold.duckdb")
    (tmp_path / "ws").mkdir()
    os.symlink(gold, tmp_path / "ws" / "shop.duckdb")
    with pytest.raises(OSError):
        stage_result(out, "a001", tmp_path / "ws" / "shop.duckdb", MB)


def test_a_symlinked_wal_is_not_staged(out: ResultsFolder, tmp_path: Path):
    source = make_database(tmp_path / "ws" / "shop.duckdb")
    write_bytes(tmp_path / "secret.wal", 10)
    os.symlink(tmp_path / "secret.wal", tmp_path / "ws" / "shop.duckdb.wal")
    with pytest.raises(OSError):
        stage_result(out, "a001", source, MB)


def test_a_source_over_the_cap_is_not_staged(out: ResultsFolder, tmp_path: Path):
    source = write_bytes(tmp_path / "ws" / "shop.duckdb", 2000)
    with pytest.raises(FolderError, match="at most"):
        stage_result(out, "a001", source, 1000)


def test_a_refused_staging_leaves_nothing_behind(out: ResultsFolder, tmp_path: Path):
    source = write_bytes(tmp_path / "ws" / "shop.duckdb", 10)
    write_bytes(tmp_path / "ws" / "shop.duckdb.wal", 2000)
    with pytest.raises(FolderError):
        stage_result(out, "a001", source, 1000)
    assert list((out.path / ".staging").iterdir()) == []


def test_commit_files_the_result_and_lists_it(out: ResultsFolder, tmp_path: Path):
    (out.path / "a001").mkdir()
    (out.path / "a001" / "stale.duckdb").write_text("from an earlier run")
    staged = stage_result(out, "a001", make_database(tmp_path / "ws" / "shop.duckdb"), MB)
    filed = commit_result(out, "a001", staged)
    assert filed.path == out.path / "a001" / "shop.duckdb"
    assert filed.sha256 == staged.sha256
    assert os.listdir(out.path / "a001") == ["shop.duckdb"]
    assert read_metadata(out) == {"a001": {"instance_id": "a001", "answer_type": "file",
                                           "answer_or_path": "shop.duckdb"}}
    assert not (out.path / ".staging" / staged.slot).exists()
    assert filed_result(out, "a001") == filed.path


def test_commit_keeps_the_other_instances_listed_in_order(out: ResultsFolder, tmp_path: Path):
    for instance_id in ("b001", "a001"):
        commit_result(out, instance_id, stage_result(out, instance_id, make_database(
            tmp_path / instance_id / "x.duckdb"), MB))
    lines = [json.loads(line)["instance_id"] for line in (out.path / METADATA).read_text().splitlines()]
    assert lines == ["a001", "b001"]


def test_commit_replaces_a_symlinked_instance_folder_without_following_it(
    out: ResultsFolder, tmp_path: Path, victim: Path
):
    before = digest(victim)
    os.symlink(victim, out.path / "a001")
    commit_result(out, "a001", stage_result(out, "a001", make_database(tmp_path / "ws" / "shop.duckdb"), MB))
    assert digest(victim) == before
    assert not (out.path / "a001").is_symlink()
    assert os.listdir(out.path / "a001") == ["shop.duckdb"]


def test_discard_staged_removes_the_staged_copy(out: ResultsFolder, tmp_path: Path):
    staged = stage_result(out, "a001", make_database(tmp_path / "ws" / "shop.duckdb"), MB)
    discard_staged(out, staged)
    assert not staged.path.parent.exists()
    assert read_metadata(out) == {}


def test_forget_result_drops_the_line_and_the_folder_and_keeps_the_others(out: ResultsFolder, tmp_path: Path):
    for instance_id in ("a001", "b001"):
        commit_result(out, instance_id, stage_result(out, instance_id, make_database(
            tmp_path / instance_id / "x.duckdb"), MB))
    forget_result(out, "a001")
    assert sorted(read_metadata(out)) == ["b001"]
    assert not (out.path / "a001").exists()
    assert filed_result(out, "b001") == out.path / "b001" / "x.duckdb"
    forget_result(out, "never-filed")
    assert sorted(read_metadata(out)) == ["b001"]


def test_forget_result_removes_a_symlinked_instance_folder_without_following_it(out: ResultsFolder, victim: Path):
    before = digest(victim)
    os.symlink(victim, out.path / "a001")
    forget_result(out, "a001")
    assert not os.path.lexists(out.path / "a001")
    assert digest(victim) == before


def list_result(out: ResultsFolder, instance_id: str, name: object) -> None:
    entries = read_metadata(out)
    entries[instance_id] = {"instance_id": instance_id, "answer_type": "file", "answer_or_path": name}
    out.write_text(METADATA, "".join(json.dumps(entry) + "\n" for entry in entries.values()))


def test_filed_result_is_none_when_the_listed_file_is_absent_or_not_plain(out: ResultsFolder, tmp_path: Path):
    assert filed_result(out, "a001") is None
    list_result(out, "a001", "shop.duckdb")
    assert filed_result(out, "a001") is None
    write_bytes(tmp_path / "out" / "shop.duckdb", 10)
    list_result(out, "a001", "../shop.duckdb")
    assert filed_result(out, "a001") is None
    list_result(out, "a001", str(tmp_path / "out" / "shop.duckdb"))
    assert filed_result(out, "a001") is None


def test_filed_result_is_none_for_a_symlinked_file(out: ResultsFolder, tmp_path: Path):
    (out.path / "a001").mkdir()
    os.symlink(write_bytes(tmp_path / "gold.duckdb", 10), out.path / "a001" / "shop.duckdb")
    list_result(out, "a001", "shop.duckdb")
    assert filed_result(out, "a001") is None


def test_filed_result_does_not_follow_a_symlinked_instance_folder(out: ResultsFolder, tmp_path: Path):
    write_bytes(tmp_path / "elsewhere" / "shop.duckdb", 10)
    os.symlink(tmp_path / "elsewhere", out.path / "a001")
    list_result(out, "a001", "shop.duckdb")
    assert filed_result(out, "a001") is None


def test_read_metadata_drops_lines_that_are_not_whole_objects(out: ResultsFolder):
    out.write_text(METADATA, '{"instance_id": "a001", "answer_or_path": "a.duckdb"}\nnot json\n[1]\n'
                             '{"instance_id": 5}\n{"answer_or_path": "x"}\n\n')
    assert read_metadata(out) == {"a001": {"instance_id": "a001", "answer_or_path": "a.duckdb"}}


def write_submission(path: Path, entries: list[dict]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / METADATA).write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    return path


def test_read_submission_maps_each_instance_to_its_file(tmp_path: Path):
    folder = write_submission(tmp_path / "sub", [
        {"instance_id": "a001", "answer_type": "file", "answer_or_path": "a.duckdb"},
        {"instance_id": "b001", "answer_type": "file", "answer_or_path": "b.duckdb"},
    ])
    submission = read_submission(folder)
    assert submission.results == {"a001": folder / "a001" / "a.duckdb", "b001": folder / "b001" / "b.duckdb"}
    assert submission.refused == {}
    assert "a001" in submission and "c001" not in submission
    assert len(submission) == 2


@pytest.mark.parametrize("name", ["/etc/passwd", "../b001/b.duckdb", "..", "sub/a.duckdb", "", None])
def test_read_submission_refuses_an_answer_that_is_not_a_plain_file_name(tmp_path: Path, name: object):
    folder = write_submission(tmp_path / "sub", [{"instance_id": "a001", "answer_type": "file",
                                                  "answer_or_path": name}])
    submission = read_submission(folder)
    assert submission.results == {}
    assert "not a plain file name" in submission.refused["a001"]
    assert "a001" in submission
    assert len(submission) == 1


def test_read_submission_of_a_folder_without_metadata_is_an_error(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    with pytest.raises(SubmissionError, match=METADATA):
        read_submission(tmp_path / "sub")


def test_read_submission_of_a_symlinked_folder_is_an_error(tmp_path: Path):
    real = write_submission(tmp_path / "real", [])
    os.symlink(real, tmp_path / "sub")
    with pytest.raises(SubmissionError):
        read_submission(tmp_path / "sub")


def test_processes_making_the_same_subfolder_at_once_all_get_it(tmp_path: Path):
    folders = [ResultsFolder(tmp_path / "out") for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda folder: folder.fresh_subfolder(("logs", f"i{id(folder)}")), folders))
    assert len(list((tmp_path / "out" / "logs").iterdir())) == 8


def test_a_sigterm_while_filing_waits_for_the_filing_even_with_other_threads_running(tmp_path: Path):
    """An xdist worker has an execnet thread besides the main one: the signal must not end the process there."""
    script = tmp_path / "filing.py"
    script.write_text(
        "import os, signal, threading, time\n"
        "from pytest_spider2dbt.collect.folder import termination_deferred\n"
        "threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
        "with termination_deferred():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(0.3)\n"
        "    print('filed', flush=True)\n"
        "print('after', flush=True)\n"
    )
    completed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30)
    assert (completed.returncode, completed.stdout) == (-signal.SIGTERM, "filed\n")
