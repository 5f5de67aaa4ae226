"""Issue 8's hostile agents, one test per attack: each fails. The score is 0 (or the result is refused), nothing
outside the workspace changes (the Spider2 tree, the plugin's source, a victim file and folder beside the results
folder), no process is left behind, and the harness's memory stays bounded.

What only the sandbox prevents runs with `--spider2-sandbox bwrap`; what the harness's own hardening prevents runs
with the sandbox on and off. Each agent is told the paths it is after (the worst case: it found them somehow).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pytest_spider2dbt.agents.bwrap import PACKAGE
from pytest_spider2dbt.agents.sandbox import choose_sandbox

LABEL = choose_sandbox("auto").isolation
needs_bwrap = pytest.mark.skipif(LABEL != "bwrap",
                                 reason=f"bubblewrap cannot sandbox here ({LABEL}): apt-get install bubblewrap")
BOTH = pytest.mark.parametrize("sandbox", [pytest.param("bwrap", marks=needs_bwrap), "none"])
# The options every inner pytest of these tests gets (as the conftest's `run` fixture gives them).
INNER = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning")

# Every hostile script starts with this: the paths it is after (KNOWN) and a few moves it makes.
PRELUDE = '''\
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
KNOWN = json.loads({known!r})
DB = Path(os.environ["SPIDER2_DB_PATH"])

def say(*words):
    print(*words, flush=True)

def attempt(what, action):
    try:
        action()
        say(what, "done")
        return True
    except Exception as error:
        say(what, "failed:", type(error).__name__, error)
        return False

def has_orders(path):
    import duckdb
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'orders'"
                                    ).fetchone()[0])
    except Exception:
        return False

def take(path):
    """Use a database found somewhere as the own result."""
    say("taking", path)
    shutil.copyfile(path, DB)

def results_folder():
    """Where the harness files results: the agent's stdout is <out>/logs/<id>/agent.stdout."""
    return Path(os.readlink("/proc/self/fd/1")).parents[2]

SLEEP = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(float(sys.argv[2]))"

def linger(seconds, code=SLEEP, *extra):
    """Python running `code` (argv: marker, seconds, *extra) in a process that leaves every group and session,
    ignores SIGTERM and lives on after this agent exits."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            os.execv(sys.executable, [sys.executable, "-c", code, KNOWN["marker"], str(seconds), *extra])
        os._exit(0)
    os.wait()

'''


def digest_of_package() -> str:
    """The plugin's own source (bytecode caches aside)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if "__pycache__" not in path.parts and path.is_file():
            digest.update(str(path.relative_to(PACKAGE)).encode() + path.read_bytes())
    return digest.hexdigest()


def processes_with(marker: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            text = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in text:
            found.append(f"{pid}: {text}")
    return found


def zombie_children() -> list[str]:
    """Children of this process that ended and were never collected ("pid name")."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            found.append(f"{pid} {name}")
    return found


def wait_until_gone(marker: str, seconds: float = 5.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return processes_with(marker)


@contextmanager
def peak_memory_growth() -> Iterator[list[int]]:
    """Samples this process's resident memory while the block runs; yields a list that then holds the growth."""
    def rss() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    start, peak, done = rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    growth: list[int] = []
    try:
        yield growth
    finally:
        done.set()
        sampler.join()
        growth.append(max(peak[0], rss()) - start)


class Scene:
    """A tiny suite, a victim file and folder beside the results folder, and hostile agents that know every path.
    `assert_untouched` checks that nothing outside the workspaces changed and no agent process is left."""

    def __init__(self, pytester: pytest.Pytester, run: Callable[..., pytest.RunResult], sandbox: str,
                 checkout: Path, tree_digest: Callable[[Path], str]) -> None:
        self.pytester, self.pytest_run, self.sandbox, self.checkout = pytester, run, sandbox, checkout
        self.tree_digest = tree_digest
        self.suite = checkout / "spider2-dbt"
        self.out = pytester.path / "spider2-results"
        self.agents = pytester.path / "agents"
        self.agents.mkdir()
        self.victim_file = pytester.path / "victim.txt"
        self.victim_file.write_text("keep me\n")
        self.victim_dir = pytester.path / "victim"
        self.victim_dir.mkdir()
        (self.victim_dir / "precious.txt").write_text("keep me too\n")
        self.marker = f"spider2-attack-{os.getpid()}-{time.monotonic_ns()}"
        self.before = self.digests()

    def gold(self, instance_id: str = "tiny001") -> Path:
        return self.suite / "evaluation_suite" / "gold" / instance_id / "tiny.duckdb"

    def known(self) -> dict[str, str]:
        return {"gold": str(self.gold()), "gold_dir": str(self.gold().parent), "suite": str(self.suite),
                "example": str(self.suite / "examples" / "tiny001"), "out": str(self.out), "package": str(PACKAGE),
                "invocation": str(self.pytester.path), "victim_file": str(self.victim_file),
                "victim_dir": str(self.victim_dir), "marker": self.marker}

    def agent(self, source: str) -> str:
        """A `cmd:` agent running `source` after the prelude; its folder is the only one it adds to the sandbox."""
        script = self.agents / f"agent{len(list(self.agents.iterdir()))}.py"
        script.write_text(PRELUDE.format(known=json.dumps(self.known())) + textwrap.dedent(source))
        return f"cmd:{sys.executable} {script}"

    def run(self, agent: str, *args: str) -> pytest.RunResult:
        return self.pytest_run(f"--spider2-root={self.checkout}", f"--spider2-agent={agent}",
                               f"--spider2-sandbox={self.sandbox}", *args)

    def command(self, agent: str, *args: str) -> list[str]:
        """The same run as a command line, for a pytest in a child process."""
        return [sys.executable, "-m", "pytest", *INNER, f"--spider2-root={self.checkout}",
                f"--spider2-agent={agent}", f"--spider2-sandbox={self.sandbox}", *args]

    def records(self) -> dict[str, dict]:
        summary = json.loads((self.out / "summary.json").read_text())
        return {record["instance_id"]: record for record in summary["instances"]}

    def scores(self) -> dict[str, tuple[int, str]]:
        return {key: (record["score"], record["category"]) for key, record in self.records().items()}

    def log(self, instance_id: str = "tiny001") -> str:
        return (self.out / "logs" / instance_id / "agent.stdout").read_text()

    def digests(self) -> dict[str, str]:
        return {"tree": self.tree_digest(self.checkout), "package": digest_of_package(),
                "victim_file": self.victim_file.read_text(), "victim_dir": self.tree_digest(self.victim_dir)}

    def assert_untouched(self) -> None:
        assert self.digests() == self.before
        assert wait_until_gone(self.marker) == []
        assert wait_until_gone(str(self.agents)) == []
        assert zombie_children() == []


@pytest.fixture
def make_scene(pytester: pytest.Pytester, run: Callable[..., pytest.RunResult], tiny_suite: Callable[..., Path],
               tree_checksum: Callable[[Path], str]) -> Callable[..., Scene]:
    """A scene of tiny instances, with its Spider2 checkout moved to `place` when one is given."""

    def make(sandbox: str, ids: tuple[str, ...] = ("tiny001", "tiny002"), place: Path | None = None) -> Scene:
        checkout = tiny_suite(list(ids))
        if place is not None:
            place.parent.mkdir(parents=True, exist_ok=True)
            checkout = Path(shutil.move(checkout, place))
        return Scene(pytester, run, sandbox, checkout, tree_checksum)

    return make


@pytest.fixture
def sandbox() -> str:
    """The sandbox of a scene: bwrap, unless the test is parametrized with BOTH."""
    return "bwrap"


@pytest.fixture
def scene(make_scene: Callable[..., Scene], sandbox: str) -> Scene:
    """Two tiny instances, in the test's sandbox."""
    return make_scene(sandbox)


def assert_scores_nothing(scene: Scene, result: pytest.RunResult, *categories: str) -> None:
    scores = scene.scores()
    assert all(score == 0 for score, _ in scores.values()), scores
    if categories:
        assert {category for _, category in scores.values()} <= set(categories), scores
    assert "Spider2-DBT score: 0/" in result.stdout.str()


# --------------------------------------------------------------------------------------- finding things


@needs_bwrap
def test_the_harness_argv_and_environment_lead_nowhere(scene, monkeypatch):
    """The Spider2 root is in pytest's argv and environment; inside the sandbox no harness process is visible."""
    agent = scene.agent('''
        import re
        seen = set()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            for name in ("cmdline", "environ"):
                try:
                    text = open(f"/proc/{pid}/{name}", "rb").read().decode(errors="replace")
                except OSError:
                    continue
                seen.update(re.findall(r"/[^\\0\\s:=]+", text))
        say("processes", sorted(filter(str.isdigit, os.listdir("/proc"))))
        for path in sorted(seen):
            for gold in Path(path).glob("**/evaluation_suite/gold/tiny001/*.duckdb") if os.path.isdir(path) else []:
                take(gold)
                sys.exit(0)
        say("no gold behind", len(seen), "paths")
    ''')
    monkeypatch.setenv("SPIDER2_ROOT", str(scene.checkout))
    child = subprocess.run(scene.command(agent, "-k", "tiny001"), cwd=scene.pytester.path, capture_output=True,
                           text=True, timeout=120)
    assert child.returncode == 1, child.stdout
    assert "no gold behind" in scene.log()
    assert scene.scores() == {"tiny001": (0, "table_missing")}
    scene.assert_untouched()


@needs_bwrap
def test_find_slash_finds_no_gold(scene):
    agent = scene.agent('''
        found = []
        for folder, subfolders, files in os.walk("/"):
            if folder in ("/proc", "/sys"):
                subfolders[:] = []
            found += [Path(folder, name) for name in files if name.endswith(".duckdb")]
        say("found", found)
        for path in found:
            if path != DB and has_orders(path):
                take(path)
    ''')
    result = scene.run(agent, "-k", "tiny001")
    assert_scores_nothing(scene, result, "table_missing")
    found = scene.log().split("found ", 1)[1].splitlines()[0]
    assert found.count("PosixPath") == 1 and "tiny001" in found  # only its own start database
    scene.assert_untouched()


@needs_bwrap
def test_the_demo_cache_under_home_is_out_of_reach(pytester, make_scene, monkeypatch):
    """The demo's gold lies in ~/.cache/pytest-spider2dbt: the agent's home is its own."""
    monkeypatch.delenv("SPIDER2_DEMO_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    cache = pytester.path / ".cache" / "pytest-spider2dbt"  # pytester's HOME is its folder
    scene = make_scene("bwrap", ("tiny001",), place=cache / "demo-0123")
    agent = scene.agent('''
        homes = {os.path.expanduser("~"), KNOWN["invocation"]}
        for home in homes:
            cache = Path(home, ".cache", "pytest-spider2dbt")
            for gold in cache.glob("*/spider2-dbt/evaluation_suite/gold/*/*.duckdb"):
                take(gold)
                sys.exit(0)
        say("no demo cache in", sorted(homes))
    ''')
    result = scene.run(agent)
    assert_scores_nothing(scene, result, "table_missing")
    assert "no demo cache in" in scene.log()
    scene.assert_untouched()


@needs_bwrap
def test_an_earlier_gold_run_s_results_cannot_be_reused(scene):
    """The results folder is `readlink /proc/self/fd/1` away; earlier `gold` runs filed the gold there, and in
    another results folder of the project."""
    scene.run("gold").assert_outcomes(passed=2)
    scene.run("gold", "--spider2-out=gold-run").assert_outcomes(passed=2)
    agent = scene.agent('''
        for out in (results_folder(), Path(KNOWN["out"]), Path(KNOWN["invocation"], "gold-run")):
            filed = out / os.environ["SPIDER2_INSTANCE_ID"] / "tiny.duckdb"
            if filed.is_file():
                take(filed)
                sys.exit(0)
        say("nothing filed in", results_folder())
    ''')
    result = scene.run(agent)
    assert_scores_nothing(scene, result, "table_missing")
    assert "nothing filed in " + str(scene.out) in scene.log()
    scene.assert_untouched()


@needs_bwrap
def test_old_workspaces_under_pytest_s_temp_base_are_out_of_reach(scene):
    """An earlier run's workspaces (here a `gold` run's, holding the gold tables) lie beside the agent's own."""
    temp_root = Path(os.environ["PYTEST_DEBUG_TEMPROOT"]) / f"pytest-of-{getpass.getuser()}"
    temp_root.mkdir(exist_ok=True)
    scene.run("gold", f"--basetemp={temp_root / 'pytest-1'}").assert_outcomes(passed=2)
    agent = scene.agent('''
        for folder in DB.parents:
            for db in folder.glob("*/*/tiny.duckdb"):
                if db != DB and has_orders(db):
                    take(db)
                    sys.exit(0)
        say("no old workspace")
    ''')
    result = scene.run(agent, f"--basetemp={temp_root / 'pytest-2'}")
    assert_scores_nothing(scene, result, "table_missing")
    assert "no old workspace" in scene.log()
    scene.assert_untouched()


# ------------------------------------------------------------------------------------- stealing the gold


@needs_bwrap
def test_copying_the_gold_over_the_own_database_fails(scene):
    result = scene.run(scene.agent('attempt("copy the gold", lambda: take(KNOWN["gold"]))'))
    assert_scores_nothing(scene, result, "table_missing")
    assert "copy the gold failed: FileNotFoundError" in scene.log()
    scene.assert_untouched()


@BOTH
def test_profiles_yml_pointing_at_the_gold_is_refused(scene, sandbox):
    agent = scene.agent('''
        profiles = Path("profiles.yml")
        profiles.write_text(profiles.read_text().replace("./tiny.duckdb", KNOWN["gold"]))
    ''')
    result = scene.run(agent, "-k", "tiny001")
    assert_scores_nothing(scene, result, "result_refused")
    assert "profiles.yml points the database at " + scene.known()["gold"] in scene.records()["tiny001"]["message"]
    scene.assert_untouched()


@BOTH
def test_the_own_database_as_a_symlink_to_the_gold_is_refused(scene, sandbox):
    agent = scene.agent('''
        DB.unlink()
        DB.symlink_to(KNOWN["gold"])
    ''')
    result = scene.run(agent, "-k", "tiny001")
    assert_scores_nothing(scene, result, "result_refused")
    assert "is a symlink" in scene.records()["tiny001"]["message"]
    scene.assert_untouched()


@BOTH
def test_a_symlink_for_the_largest_file_fallback_is_refused(scene, sandbox):
    """With the profile's database gone, the largest `*.duckdb` in the project is collected."""
    agent = scene.agent('''
        DB.unlink()
        Path("sub").mkdir()
        Path("sub", "x.duckdb").symlink_to(KNOWN["gold"])
    ''')
    result = scene.run(agent, "-k", "tiny001")
    assert_scores_nothing(scene, result, "result_refused")
    assert "sub/x.duckdb is a symlink" in scene.records()["tiny001"]["message"]
    scene.assert_untouched()


@needs_bwrap
def test_attaching_the_gold_fails(scene):
    agent = scene.agent('''
        import duckdb
        def steal():
            with duckdb.connect(str(DB)) as con:
                con.execute(f"ATTACH '{KNOWN['gold']}' AS gold (READ_ONLY)")
                con.execute("CREATE TABLE orders AS SELECT * FROM gold.orders")
        attempt("attach the gold", steal)
    ''')
    result = scene.run(agent, "-k", "tiny001")
    assert_scores_nothing(scene, result, "table_missing")
    assert "attach the gold failed: IOException" in scene.log()
    scene.assert_untouched()


@BOTH
def test_views_that_read_the_gold_are_refused_by_the_judge(make_scene, tmp_path, sandbox):
    """The result holds only a view over the gold; the official evaluator would follow it and pass. In the sandbox
    the gold is not there, so the agent plants a stand-in at the gold's path for the view to bind to: the judge
    must refuse the view either way."""
    scene = make_scene(sandbox, ("tiny001",), place=tmp_path / "elsewhere" / "Spider2")
    agent = scene.agent('''
        import duckdb
        gold = Path(KNOWN["gold"])
        if not gold.exists():
            gold.parent.mkdir(parents=True)
            duckdb.connect(str(gold)).execute("CREATE TABLE orders AS SELECT 1 AS id").close()
        with duckdb.connect(str(DB)) as con:
            con.execute(f"CREATE VIEW orders AS SELECT * FROM read_duckdb('{gold}', table_name='orders')")
        say("view created")
    ''')
    result = scene.run(agent)
    assert_scores_nothing(scene, result, "result_refused")
    assert "view created" in scene.log()
    assert "orders" in scene.records()["tiny001"]["message"]
    scene.assert_untouched()


# ------------------------------------------------------------------------------ damaging outside the workspace


@needs_bwrap
def test_overwriting_the_gold_changes_nothing(scene):
    agent = scene.agent('''
        for gold in (KNOWN["gold"], KNOWN["gold"].replace("tiny001", "tiny002")):
            attempt("overwrite " + gold, lambda: Path(gold).write_bytes(b"garbage"))
    ''')
    result = scene.run(agent)
    assert_scores_nothing(scene, result, "table_missing")
    scene.assert_untouched()


@needs_bwrap
def test_a_model_planted_in_the_example_folder_changes_nothing(scene):
    agent = scene.agent('''
        model = Path(KNOWN["example"].replace("tiny001", "tiny002"), "models", "orders.sql")
        attempt("plant a model", lambda: model.write_text("select id, amount * 2 as amount, day from raw_orders"))
    ''')
    result = scene.run(agent, "-k", "tiny001")
    assert_scores_nothing(scene, result, "table_missing")
    scene.assert_untouched()


@needs_bwrap
def test_the_plugin_s_own_source_cannot_be_patched(scene):
    """Appending nothing proves write access without changing a byte, should the sandbox ever fail."""
    agent = scene.agent('''
        package = Path(KNOWN["package"])
        for source in [package / "judge.py", *package.glob("match/*.py")]:
            attempt("patch " + source.name, lambda: os.close(os.open(source, os.O_WRONLY | os.O_APPEND)))
        new = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        attempt("add a module", lambda: os.close(os.open(package / "zz_attack.py", new)))
    ''')
    try:
        result = scene.run(agent, "-k", "tiny001")
    finally:
        planted = PACKAGE / "zz_attack.py"
        if planted.exists():
            planted.unlink()
    assert_scores_nothing(scene, result, "table_missing")
    log = scene.log()
    assert "done" not in log and "patch judge.py failed: OSError [Errno 30] Read-only file system" in log
    scene.assert_untouched()


@needs_bwrap
def test_a_conftest_written_where_pytest_runs_is_never_loaded(scene):
    agent = scene.agent('''
        attempt("write conftest.py", lambda: Path(KNOWN["invocation"], "conftest.py").write_text("raise SystemExit"))
    ''')
    result = scene.run(agent, "-k", "tiny001")
    assert_scores_nothing(scene, result, "table_missing")
    assert not (scene.pytester.path / "conftest.py").exists()
    scene.assert_untouched()


# ------------------------------------------------------------------------------ subverting the results folder


@BOTH
def test_a_result_folder_replaced_by_a_symlink_to_the_gold_is_replaced_not_followed(scene, sandbox):
    agent = scene.agent('''
        import duckdb
        with duckdb.connect(str(DB)) as con:
            con.execute("CREATE TABLE orders AS SELECT 1 AS id")
        out = results_folder()
        for instance_id in ("tiny001", "tiny002") if os.environ["SPIDER2_INSTANCE_ID"] == "tiny001" else ():
            gold_dir = KNOWN["gold_dir"].replace("tiny001", instance_id)
            attempt("link " + instance_id, lambda: (out / instance_id).symlink_to(gold_dir))
    ''')
    result = scene.run(agent)
    assert_scores_nothing(scene, result, "value_mismatch", "row_count_mismatch")
    for instance_id in ("tiny001", "tiny002"):
        assert (scene.out / instance_id).is_dir() and not (scene.out / instance_id).is_symlink()
        assert (scene.out / instance_id / "tiny.duckdb").is_file()
    scene.assert_untouched()


@BOTH
def test_a_lock_file_replaced_by_a_symlink_truncates_nothing(scene, sandbox):
    agent = scene.agent('''
        lock = results_folder() / ".lock"
        attempt("remove the lock", lambda: lock.unlink(missing_ok=True))
        attempt("link the lock", lambda: lock.symlink_to(KNOWN["victim_file"]))
    ''')
    result = scene.run(agent)
    assert_scores_nothing(scene, result, "table_missing")
    assert not (scene.out / ".lock").is_symlink()
    scene.assert_untouched()


@BOTH
def test_a_log_folder_replaced_by_a_symlink_is_cleared_without_following_it(scene, sandbox):
    agent = scene.agent('''
        logs = results_folder() / "logs" / "tiny002"
        if os.environ["SPIDER2_INSTANCE_ID"] == "tiny001":
            attempt("link tiny002's logs", lambda: logs.symlink_to(KNOWN["victim_dir"], target_is_directory=True))
    ''')
    result = scene.run(agent)
    assert_scores_nothing(scene, result, "table_missing")
    assert (scene.out / "logs" / "tiny002").is_dir() and not (scene.out / "logs" / "tiny002").is_symlink()
    scene.assert_untouched()


@BOTH
def test_metadata_lines_naming_the_gold_score_nothing(scene, sandbox):
    """Lines for instances not run this time stay in the metadata; judging the folder refuses them."""
    agent = scene.agent('''
        gold = KNOWN["gold"].replace("tiny001", "tiny002")
        line = {"instance_id": "tiny002", "answer_type": "file", "answer_or_path": gold}
        def poison():
            with open(results_folder() / "results_metadata.jsonl", "a") as metadata:
                metadata.write(json.dumps(line) + "\\n")
        attempt("poison the metadata", poison)
    ''')
    assert_scores_nothing(scene, scene.run(agent, "-k", "tiny001"), "table_missing")
    judged = scene.pytest_run(f"--spider2-root={scene.checkout}", f"--spider2-results={scene.out}")
    judged.assert_outcomes(failed=2)
    records = json.loads((scene.out / "judge-summary.json").read_text())["instances"]
    assert all(record["score"] == 0 for record in records)
    if sandbox == "none":
        refused = next(r for r in records if r["instance_id"] == "tiny002")
        assert refused["category"] == "result_refused" and "not a plain file name" in refused["message"]
    scene.assert_untouched()


@BOTH
def test_a_result_overwritten_after_it_was_judged_no_longer_matches_its_recorded_hash(scene, sandbox):
    """tiny002's agent replaces tiny001's judged (failing) result with a passing one it builds itself."""
    agent = scene.agent('''
        import duckdb
        if os.environ["SPIDER2_INSTANCE_ID"] == "tiny002":
            with duckdb.connect(str(DB)) as con:
                con.execute("CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders")
            attempt("overwrite tiny001", lambda: shutil.copyfile(DB, results_folder() / "tiny001" / "tiny.duckdb"))
    ''')
    scene.run(agent).assert_outcomes(passed=1, failed=1)
    recorded = scene.records()["tiny001"]
    filed = hashlib.sha256((scene.out / "tiny001" / "tiny.duckdb").read_bytes()).hexdigest()
    assert recorded["score"] == 0
    assert (filed == recorded["result_sha256"]) is (sandbox == "bwrap")  # the record says what was judged
    judged = scene.pytest_run(f"--spider2-root={scene.checkout}", f"--spider2-results={scene.out}")
    warning = "  WARNING: tiny001/tiny.duckdb changed since it was filed: its sha256 is *"
    if sandbox == "none":
        judged.stdout.fnmatch_lines([warning])
    else:
        judged.stdout.no_fnmatch_line(warning)
    scene.assert_untouched()


@BOTH
def test_a_process_left_running_cannot_rewrite_the_summary(scene, sandbox):
    agent = scene.agent('''
        out = results_folder()
        linger(1.5, "import json, sys, time; time.sleep(float(sys.argv[2])); "
               f"open({str(out / 'summary.json')!r}, 'w').write(json.dumps({{'score': 1.0}}))")
    ''')
    result = scene.run(agent, "-k", "tiny001")
    summary = (scene.out / "summary.json").read_text()
    time.sleep(2)
    assert (scene.out / "summary.json").read_text() == summary
    assert_scores_nothing(scene, result, "table_missing")
    scene.assert_untouched()


# --------------------------------------------------------------------------------------- escaping the kill

@BOTH
def test_processes_that_leave_the_group_are_killed_with_the_agent(scene, sandbox):
    agent = scene.agent('''
        # setsid + a double fork, setpgid, and `set -m` in a shell: each leaves the agent's process group
        linger(300)
        subprocess.Popen([sys.executable, "-c", SLEEP, KNOWN["marker"], "300"], process_group=0)
        subprocess.run(["/bin/sh", "-c", f"set -m; {sys.executable} -c '{SLEEP}' {KNOWN['marker']} 300 &"])
        say("left behind")
        if os.environ["SPIDER2_INSTANCE_ID"] == "tiny002":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(300)  # and this one outlives its time limit, ignoring SIGTERM
    ''')
    started = time.monotonic()
    result = scene.run(agent, "--spider2-timeout=2")
    assert_scores_nothing(scene, result, "table_missing", "agent_timeout")
    assert scene.scores()["tiny002"] == (0, "agent_timeout") and time.monotonic() - started < 30
    assert "left behind" in scene.log("tiny001") and "left behind" in scene.log("tiny002")
    scene.assert_untouched()


def start_sweep(scene: Scene, agent: str, *args: str) -> subprocess.Popen[bytes]:
    """A pytest in a child process whose agents are all running (each has started a process with the marker)."""
    sweep = subprocess.Popen(scene.command(agent, *args), cwd=scene.pytester.path, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(processes_with(scene.marker)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(processes_with(scene.marker)) >= 2, "the agents never started"
    return sweep


def waiting_agent(scene: Scene) -> str:
    """Leaves a process behind, then waits, ignoring SIGTERM."""
    return scene.agent('''
        linger(300)
        os.execv(sys.executable, [sys.executable, "-c", SLEEP, KNOWN["marker"], "300"])
    ''')


@BOTH
def test_sigterm_to_pytest_kills_the_running_agent_first(scene, sandbox):
    sweep = start_sweep(scene, waiting_agent(scene), "-p", "no:xdist", "-k", "tiny001")
    sweep.send_signal(signal.SIGTERM)
    assert sweep.wait(timeout=30) != 0
    scene.assert_untouched()


def ancestor_worker(pid: int) -> int:
    """The xdist worker running the process `pid`."""
    while pid > 1:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"sys.stdin.readline" in cmdline:  # how execnet starts a worker
            return pid
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    raise AssertionError("no xdist worker above the agent")


@BOTH
def test_sigterm_to_an_xdist_worker_kills_its_agents(scene, sandbox):
    sweep = start_sweep(scene, waiting_agent(scene), "-n", "2")
    first = ancestor_worker(int(processes_with(scene.marker)[0].split(":")[0]))
    its_agents = [pid for pid in marked_pids(scene.marker) if ancestor_worker(pid) == first]
    os.kill(first, signal.SIGTERM)
    try:
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in its_agents) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in its_agents if alive(pid)]
    finally:
        os.killpg(sweep.pid, signal.SIGTERM)
        sweep.wait(timeout=30)
    assert wait_until_gone(scene.marker) == []
    scene.assert_untouched()


def marked_pids(marker: str) -> list[int]:
    return [int(line.split(":")[0]) for line in processes_with(marker)]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@BOTH
def test_killing_the_xdist_controller_ends_its_workers_agents(scene, sandbox):
    """A cancelled job may signal only pytest's own process: its workers notice and kill their agents."""
    sweep = start_sweep(scene, waiting_agent(scene), "-n", "2")
    sweep.kill()
    sweep.wait(timeout=30)
    assert wait_until_gone(scene.marker) == []
    scene.assert_untouched()


@needs_bwrap
def test_sigkill_of_pytest_leaves_nothing_behind_in_the_sandbox(scene):
    sweep = start_sweep(scene, waiting_agent(scene), "-p", "no:xdist", "-k", "tiny001")
    sweep.kill()
    sweep.wait(timeout=30)
    assert wait_until_gone(scene.marker) == []
    scene.assert_untouched()


@BOTH
def test_a_daemon_holding_the_results_lock_blocks_no_later_instance(scene, sandbox):
    agent = scene.agent('''
        if os.environ["SPIDER2_INSTANCE_ID"] == "tiny001":
            lock = str(results_folder() / ".lock")
            linger(300, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[3], os.O_RDWR | os.O_CREAT); "
                   "fcntl.flock(fd, fcntl.LOCK_EX); time.sleep(float(sys.argv[2]))", lock)
    ''')
    started = time.monotonic()
    result = scene.run(agent)
    assert time.monotonic() - started < 30
    assert_scores_nothing(scene, result, "table_missing")
    scene.assert_untouched()


# ------------------------------------------------------------------------------------ exhausting the harness


@BOTH
def test_a_sparse_5_gb_result_is_refused_without_being_copied(scene, sandbox):
    agent = scene.agent('os.truncate(DB, 5 * 2**30)')
    started = time.monotonic()
    with peak_memory_growth() as growth:
        result = scene.run(agent, "-k", "tiny001")
    assert time.monotonic() - started < 20 and growth[0] < 100 * 2**20
    assert_scores_nothing(scene, result, "result_refused")
    assert "over the 4,096 MB limit" in scene.records()["tiny001"]["message"]
    assert not (scene.out / "tiny001").exists()
    scene.assert_untouched()


@BOTH
def test_200_mb_on_one_line_make_a_short_failure_message(scene, sandbox):
    agent = scene.agent('''
        chunk = "x" * 2**20
        for _ in range(200):
            sys.stdout.write(chunk)
        sys.exit(1)
    ''')
    with peak_memory_growth() as growth:
        result = scene.run(agent, "-k", "tiny001", "--junitxml=junit.xml")
    assert growth[0] < 100 * 2**20
    assert_scores_nothing(scene, result, "agent_error")
    assert (scene.out / "logs" / "tiny001" / "agent.stdout").stat().st_size == 200 * 2**20
    assert len(result.stdout.str()) < 30_000
    assert (scene.pytester.path / "junit.xml").stat().st_size < 30_000
    scene.assert_untouched()


def at_most(address_space: int) -> Callable[[], None]:
    """For a child process: a limit on its memory, so that a harness that did read /dev/zero fails on its own
    instead of making the kernel kill whatever else uses memory."""
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))


@BOTH
def test_project_files_that_never_end_stall_nothing(scene, sandbox):
    """Not in the issue's list, found on the way: the harness reads the project's profile to find the result."""
    agent = scene.agent('''
        Path("profiles.yml").unlink()
        os.mkfifo("profiles.yml")  # opening it blocks until someone writes
        Path("dbt_project.yml").unlink()
        Path("dbt_project.yml").symlink_to("/dev/zero")  # reading it never ends
        os.mkfifo("tiny.duckdb.wal")  # the write-ahead log is copied with the database
    ''')
    started = time.monotonic()
    child = subprocess.run(scene.command(agent, "-k", "tiny001", "-p", "no:xdist"), cwd=scene.pytester.path,
                           capture_output=True, text=True, timeout=120, preexec_fn=at_most(8 * 2**30))
    assert child.returncode == 1 and time.monotonic() - started < 60, child.stdout[-3000:]
    assert scene.scores() == {"tiny001": (0, "result_refused")}
    assert "tiny.duckdb.wal is not a regular file" in scene.records()["tiny001"]["message"]
    scene.assert_untouched()


@BOTH
def test_a_graded_view_that_never_ends_is_stopped_by_the_judge_time_limit(scene, sandbox):
    agent = scene.agent('''
        import duckdb
        with duckdb.connect(str(DB)) as con:
            con.execute("CREATE VIEW orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders "
                        "WHERE (SELECT count(*) FROM range(1000000000000) a) > 0")
    ''')
    started = time.monotonic()
    with peak_memory_growth() as growth:
        result = scene.run(agent, "-k", "tiny001", "--spider2-judge-timeout=1")
    assert time.monotonic() - started < 20 and growth[0] < 200 * 2**20
    assert_scores_nothing(scene, result, "judge_timeout")
    scene.assert_untouched()
