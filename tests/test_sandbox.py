"""The bubblewrap sandbox: what an agent sees and can change inside it, how it is chosen and labelled, and the
built-in agents (demo reference, dbt on real data, claude-code) working in it as they do without it."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from pytest_spider2dbt.agents import AgentContext
from pytest_spider2dbt.agents.bwrap import PACKAGE, parse_bind
from pytest_spider2dbt.agents.sandbox import NO_SANDBOX, Sandbox, SandboxError, choose_sandbox
from pytest_spider2dbt.clock import faketime_environment

LABEL = choose_sandbox("auto").isolation
needs_bwrap = pytest.mark.skipif(LABEL != "bwrap",
                                 reason=f"bubblewrap cannot sandbox here ({LABEL}): apt-get install bubblewrap")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "spider2-data" / "duckdb"

# Reports, as JSON on stdout, what a process inside the sandbox can see and do.
PROBE = textwrap.dedent(
    """
    import json, os, subprocess, sys
    workspace, package, masked, logs = (os.environ[name] for name in ("WORKSPACE", "PACKAGE", "MASKED", "LOGS"))

    def attempt(action):
        try:
            action()
            return "done"
        except OSError as error:
            return error.strerror

    def duckdb_files():
        found = []
        for folder, subfolders, files in os.walk("/"):
            if folder in ("/proc", "/sys", "/dev"):
                subfolders[:] = []
            found += [os.path.join(folder, f) for f in files if f.endswith(".duckdb")]
        return found

    def read(path):
        with open(path, "rb") as file:
            return file.read().decode(errors="replace")

    def append_nothing(path):
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND))

    def write(path, text="x"):
        with open(path, "w") as file:
            file.write(text)

    status = read("/proc/self/status")
    print(json.dumps({
        "home": sorted(os.listdir(os.environ["HOME"])),
        "home_path": os.environ["HOME"],
        "tmpdir": os.environ.get("TMPDIR"),
        "write_home": attempt(lambda: write(os.path.join(os.environ["HOME"], "note"))),
        "write_tmp": attempt(lambda: write("/tmp/note")),
        "write_root": attempt(lambda: write("/planted")),
        "write_workspace": attempt(lambda: write(os.path.join(workspace, "made-inside"))),
        "write_logs": attempt(lambda: write(os.path.join(logs, "inside.log"))),
        "workspace_siblings": sorted(os.listdir(os.path.dirname(workspace))),
        "duckdb_files": duckdb_files(),
        "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "pid1": read("/proc/1/cmdline").replace("\\0", " "),
        "pid1_environ": read("/proc/1/environ"),
        "capabilities": [line.split()[1] for line in status.splitlines() if line.startswith("CapEff")][0],
        "proc_sys": attempt(lambda: write("/proc/sys/kernel/hostname", "planted")),
        "package": attempt(lambda: append_nothing(os.path.join(package, "__init__.py"))),
        "package_readable": attempt(lambda: read(os.path.join(package, "__init__.py"))),
        "solutions": os.listdir(os.path.join(package, "demo_suite", "solutions")),
        "masked": os.listdir(masked),
        "write_masked": attempt(lambda: write(os.path.join(masked, "x"))),
        "umount": subprocess.run(["umount", masked], capture_output=True).returncode,
    }))
    """
)


@pytest.fixture
def place(tmp_path: Path) -> dict[str, Path]:
    """A user's machine in miniature: a Spider2 tree with a gold file, a project folder holding the results folder,
    a home with a secret, and a workspace whose project has its own database."""
    gold = tmp_path / "Spider2" / "gold" / "tiny001" / "tiny.duckdb"
    gold.parent.mkdir(parents=True)
    duckdb.connect(str(gold)).close()
    project = tmp_path / "project"
    results = project / "spider2-results"
    (results / "tiny001").mkdir(parents=True)
    shutil.copyfile(gold, results / "tiny001" / "tiny.duckdb")
    (project / "probe.py").write_text(PROBE)
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.txt").write_text("the user's own")
    workspace = tmp_path / "basetemp" / "tiny001-0"
    (workspace / "tiny001").mkdir(parents=True)
    duckdb.connect(str(workspace / "tiny001" / "tiny.duckdb")).close()
    (tmp_path / "basetemp" / "tiny002-0").mkdir()
    logs = results / "logs" / "tiny001"
    logs.mkdir(parents=True)
    return {"tmp": tmp_path, "gold": gold, "project": project, "results": results, "home": home,
            "workspace": workspace, "logs": logs, "tree": tmp_path / "Spider2"}


def context_in(place: dict[str, Path], sandbox: Sandbox, **env: str) -> AgentContext:
    project_dir = place["workspace"] / "tiny001"
    return AgentContext(
        instance_id="tiny001", instruction="do it", project_dir=project_dir, db_path=project_dir / "tiny.duckdb",
        log_dir=place["logs"], deadline=time.monotonic() + 60, timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": str(place["home"]), **env}, sandbox=sandbox,
    )


def sandbox_for(place: dict[str, Path], binds: tuple[str, ...] = ()) -> Sandbox:
    return choose_sandbox("bwrap", binds=binds, hidden=[place["tree"], place["results"], place["tmp"] / "basetemp"],
                          read_only=[place["project"]])


def probe(place: dict[str, Path], sandbox: Sandbox) -> dict:
    context = context_in(place, sandbox, WORKSPACE=str(place["workspace"]), PACKAGE=str(PACKAGE),
                         MASKED=str(place["results"]), LOGS=str(place["logs"]))
    status = context.run([sys.executable, str(place["project"] / "probe.py")], log_name="probe")
    assert status == 0, (place["logs"] / "probe.stderr").read_text()
    return json.loads((place["logs"] / "probe.stdout").read_text())


@needs_bwrap
def test_inside_the_sandbox_an_agent_sees_its_workspace_and_nothing_of_the_harness(place):
    seen = probe(place, sandbox_for(place))

    assert seen["duckdb_files"] == [str(place["workspace"] / "tiny001" / "tiny.duckdb")]  # never a gold file
    assert seen["workspace_siblings"] == ["tiny001-0"]  # other workspaces are not there
    assert seen["home"] == [] and seen["home_path"] == str(place["home"])  # a private, empty home at HOME's path
    assert (seen["write_home"], seen["write_tmp"], seen["write_workspace"], seen["write_logs"]) == ("done",) * 4
    assert seen["tmpdir"] == "/tmp"
    # The results folder, inside a shown folder, is masked: only the way to the agent's own log folder is there.
    assert seen["masked"] == ["logs"] and seen["write_masked"] == "Permission denied"
    assert seen["solutions"] == []  # the demo's answers, inside the plugin's own folder
    assert seen["package_readable"] == "done" and seen["package"] == "Read-only file system"
    assert seen["write_root"] == "Read-only file system"
    assert seen["processes"] == [1, 2], seen["processes"]  # its own PID namespace: bwrap and the probe
    assert not [p for p in ("Spider2", "spider2-results", "basetemp", "--bind") if p in seen["pid1"]], seen["pid1"]
    assert seen["pid1_environ"] == ""
    assert int(seen["capabilities"], 16) == 0 and seen["umount"] != 0
    assert seen["proc_sys"] == "Read-only file system"

    assert (place["workspace"] / "made-inside").is_file()
    assert (place["logs"] / "inside.log").is_file()
    assert (place["home"] / "secret.txt").read_text() == "the user's own" and not (place["home"] / "note").exists()
    assert (place["workspace"] / "home" / "note").is_file()  # the private home lives in the workspace


@needs_bwrap
def test_a_command_that_cannot_be_found_did_not_start(place):
    result = context_in(place, sandbox_for(place)).run_command(["no-such-agent-command"])
    assert result.returncode == 127 and not result.started


@needs_bwrap
def test_the_clock_reaches_every_process_inside_the_sandbox(place):
    env = faketime_environment(dt.date(2021, 3, 4))
    context = context_in(place, sandbox_for(place), **env)
    status = context.run(f"date +%F; {sys.executable} -c 'import datetime; print(datetime.date.today())'", log_name="d")
    assert status == 0
    assert (place["logs"] / "d.stdout").read_text().split() == ["2021-03-04", "2021-03-04"]


@needs_bwrap
def test_binds_show_extra_paths_and_a_path_under_home_is_the_agent_s_own_home(place):
    credentials = place["home"] / ".claude"
    credentials.mkdir()
    (credentials / "token").write_text("t\n")
    tools = place["tmp"] / "tools"
    tools.mkdir()
    (tools / "tool.txt").write_text("tool\n")
    cache = place["tmp"] / "cache"
    cache.mkdir()
    sandbox = sandbox_for(place, binds=(f"{credentials}:ro", f"{tools}:/opt/tools:ro", str(cache)))
    script = ("cat ~/.claude/token /opt/tools/tool.txt; touch ~/.claude/x /opt/tools/x 2>/dev/null || echo ro; "
              f"touch {cache}/written; ls -A ~")
    assert context_in(place, sandbox).run(script, log_name="binds") == 0
    assert (place["logs"] / "binds.stdout").read_text().split() == ["t", "tool", "ro", ".claude"]
    assert (cache / "written").is_file() and not (credentials / "x").exists()


@needs_bwrap
def test_a_credentials_file_bound_alone_leaves_the_rest_of_the_agent_s_home_private_and_writable(place):
    claude = place["home"] / ".claude"
    claude.mkdir()
    (claude / ".credentials.json").write_text("secret\n")
    (claude / "history.jsonl").write_text("the user's sessions\n")
    sandbox = sandbox_for(place, binds=(f"{claude / '.credentials.json'}:ro",))
    script = ("cat ~/.claude/.credentials.json; echo x >> ~/.claude/.credentials.json || echo ro; "
              "touch ~/.claude/todo; ls -A ~/.claude")
    assert context_in(place, sandbox).run(script, log_name="file") == 0
    assert (place["logs"] / "file.stdout").read_text().split() == ["secret", "ro", ".credentials.json", "todo"]
    assert sorted(p.name for p in claude.iterdir()) == [".credentials.json", "history.jsonl"]


@needs_bwrap
def test_a_folder_named_through_a_symlink_is_shown_at_both_paths_with_its_masks(place):
    linked = place["tmp"] / "linked"
    linked.symlink_to(place["project"])
    (place["project"] / "secret").mkdir()
    (place["project"] / "secret" / "gold.duckdb").write_text("")
    sandbox = choose_sandbox("bwrap", hidden=[place["project"] / "secret"], read_only=[linked])
    script = (f"test -f {linked}/probe.py && test -f {place['project']}/probe.py && "
              f"test -z \"$(ls -A {linked}/secret)$(ls -A {place['project']}/secret)\"")
    assert context_in(place, sandbox).run(script, log_name="linked") == 0


@needs_bwrap
def test_a_home_replaced_by_a_symlink_is_never_followed(place):
    """An agent's command could leave `<workspace>/home` as a symlink for the next command to bind."""
    (place["workspace"] / "home").symlink_to(place["tree"])
    seen = probe(place, sandbox_for(place))
    assert seen["home"] == [] and seen["duckdb_files"] == [str(place["workspace"] / "tiny001" / "tiny.duckdb")]
    assert (place["workspace"] / "home").is_dir() and not (place["workspace"] / "home").is_symlink()


@needs_bwrap
def test_processes_left_inside_the_sandbox_end_with_the_command(place):
    marker = f"spider2-sandbox-leftover-{os.getpid()}"
    command = f"setsid sh -c 'trap \"\" TERM; exec sleep 300' {marker} & echo started"
    assert context_in(place, sandbox_for(place)).run(command, log_name="bg") == 0
    assert not [p for p in os.listdir("/proc") if p.isdigit() and marker in cmdline(p)]


def cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


# ----------------------------------------------------------------------------------- choosing the sandbox


def fake_bwrap(folder: Path, script: str) -> None:
    folder.mkdir(exist_ok=True)
    bwrap = folder / "bwrap"
    bwrap.write_text(f"#!/bin/sh\n{script}\n")
    bwrap.chmod(bwrap.stat().st_mode | stat.S_IEXEC)


def test_none_runs_commands_as_they_are():
    assert choose_sandbox("none") is NO_SANDBOX and NO_SANDBOX.isolation == "none"


def test_without_bubblewrap_auto_says_so_and_bwrap_is_refused_with_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert choose_sandbox("auto").isolation == ("none (bubblewrap is not installed: apt-get install bubblewrap "
                                                "(Fedora: dnf install bubblewrap))")
    with pytest.raises(SandboxError, match="apt-get install bubblewrap"):
        choose_sandbox("bwrap")


def test_a_bubblewrap_that_cannot_create_namespaces_is_named_in_the_label_and_the_error(monkeypatch, tmp_path):
    fake_bwrap(tmp_path, 'echo "bwrap: No permissions to create new namespace" >&2; exit 1')
    monkeypatch.setenv("PATH", str(tmp_path))
    assert choose_sandbox("auto").isolation == (
        "none (bubblewrap cannot create a sandbox here: bwrap: No permissions to create new namespace)")
    with pytest.raises(SandboxError, match="No permissions to create new namespace.*--spider2-sandbox none"):
        choose_sandbox("bwrap")


@pytest.mark.parametrize(("text", "problem"), [
    ("/no/such/folder:ro", "/no/such/folder does not exist"),
    ("/tmp:relative/dest", "must be an absolute path"),
    ("/tmp:/a:/b:ro", "expected SRC, SRC:DEST, SRC:ro or SRC:DEST:ro"),
    (":ro", "expected SRC"),
])
def test_a_bad_bind_is_a_usage_error_that_names_it(text, problem):
    with pytest.raises(SandboxError, match=problem):
        parse_bind(text)


def test_binds_default_to_the_same_path_read_write(tmp_path):
    bind = parse_bind(str(tmp_path))
    assert (bind.source, bind.dest, bind.read_only) == (tmp_path.resolve(), tmp_path, False)
    assert parse_bind(f"{tmp_path}:/x:ro").dest == Path("/x")


# -------------------------------------------------------------------------------------- through pytest


def summary_of(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "spider2-results" / "summary.json").read_text())


@needs_bwrap
def test_isolation_is_in_the_header_every_record_and_junit(pytester, run, tiny_suite, solving_agent):
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", f"--spider2-agent={solving_agent}",
                 "--spider2-sandbox=bwrap", "--junitxml=out.xml")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["spider2-dbt isolation: bwrap"])
    assert summary_of(pytester)["instances"][0]["isolation"] == "bwrap"
    assert '<property name="isolation" value="bwrap"' in (pytester.path / "out.xml").read_text()


def test_auto_without_bubblewrap_runs_unsandboxed_and_labels_every_number(pytester, run, tiny_suite, solving_agent,
                                                                           monkeypatch):
    monkeypatch.setenv("PATH", str(pytester.path / "no-bin"))
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", f"--spider2-agent={solving_agent}",
                 "--spider2-sandbox=auto", "--junitxml=out.xml")
    result.assert_outcomes(passed=1)
    label = "none (bubblewrap is not installed: apt-get install bubblewrap (Fedora: dnf install bubblewrap))"
    result.stdout.fnmatch_lines([f"spider2-dbt isolation: {label}"])
    assert summary_of(pytester)["instances"][0]["isolation"] == label
    assert f'<property name="isolation" value="{label}"' in (pytester.path / "out.xml").read_text()


def test_bwrap_without_bubblewrap_is_a_usage_error(pytester, run, tiny_suite, monkeypatch):
    monkeypatch.setenv("PATH", str(pytester.path / "no-bin"))
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-sandbox=bwrap")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bubblewrap is not installed; install it (apt-get install bubblewrap*"])


@needs_bwrap
def test_a_python_agent_and_a_hook_s_commands_run_sandboxed(pytester, run, tiny_suite):
    """Both look for the gold first (and fail the instance if they see it), then solve."""
    checkout = tiny_suite(["tiny001", "tiny002"])
    gold = checkout / "spider2-dbt" / "evaluation_suite" / "gold"
    solve = (f"{sys.executable} -c \"import duckdb; duckdb.connect('tiny.duckdb').execute("
             "'CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders')\"")
    pytester.makepyfile(my_agent=f"""
        import os
        def solve(context):
            return 3 if os.path.exists({str(gold)!r}) else context.run({solve!r})
    """)
    pytester.makeconftest(f"""
        def pytest_spider2dbt_run_agent(context):
            if context.instance_id == "tiny002":
                return context.run("test ! -e {gold}") or context.run({solve!r})
    """)
    result = run(f"--spider2-root={checkout}", "--spider2-agent=python:my_agent:solve", "--spider2-sandbox=bwrap")
    result.assert_outcomes(passed=2)


# ------------------------------------------------------------------ built-in agents, as they do without it


def scores(pytester: pytest.Pytester) -> dict[str, tuple[int, str]]:
    return {i["instance_id"]: (i["score"], i["category"]) for i in summary_of(pytester)["instances"]}


@needs_bwrap
@pytest.mark.long
def test_the_demo_reference_agent_passes_in_the_sandbox(pytester, run):
    result = run("--spider2-demo", "--spider2-agent=reference", "--spider2-sandbox=bwrap", "-k", "ledger001")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["spider2-dbt isolation: bwrap"])


@needs_bwrap
@pytest.mark.long
@pytest.mark.skipif(not SHARED.is_dir(), reason=f"real Spider2 data not found at {SHARED}")
def test_dbt_on_real_playbook001_scores_the_same_in_the_sandbox(pytester, run):
    suite = pytester.path / "Spider2" / "spider2-dbt"
    example = suite / "examples" / "playbook001"
    gold = suite / "evaluation_suite" / "gold" / "playbook001"
    (example / "models").mkdir(parents=True)
    gold.mkdir(parents=True)
    (example / "dbt_project.yml").write_text("name: playbook\nprofile: playbook\n")
    (example / "profiles.yml").write_text(
        "playbook:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: ./playbook.duckdb\n")
    (example / "models" / "touch_count.sql").write_text("select count(*) as touches from attribution_touches\n")
    shutil.copyfile(SHARED / "playbook_start_with_view.duckdb", example / "playbook.duckdb")
    shutil.copyfile(SHARED / "playbook_gold.duckdb", gold / "playbook.duckdb")
    (suite / "examples" / "spider2-dbt.jsonl").write_text(
        json.dumps({"instance_id": "playbook001", "instruction": "finish it", "type": "DBT"}) + "\n")
    (gold.parent / "spider2_eval.jsonl").write_text(json.dumps({"instance_id": "playbook001", "evaluation": {
        "func": "duckdb_match", "parameters": {"gold": "playbook.duckdb", "condition_tabs": ["attribution_touches"],
                                               "condition_cols": [[15, 16, 17, 18]], "ignore_orders": [True]}}}) + "\n")
    seen = {}
    for sandbox in ("none", "bwrap"):
        run(f"--spider2-root={suite.parent}", "--spider2-agent=dbt", f"--spider2-sandbox={sandbox}").assert_outcomes(
            passed=1)
        seen[sandbox] = scores(pytester)
        log = (pytester.path / "spider2-results" / "logs" / "playbook001" / "agent.stdout").read_text()
        assert "1 of 1 OK created sql view model main.touch_count" in log
    assert seen["bwrap"] == seen["none"] == {"playbook001": (1, "passed")}


CLAUDE_STAND_IN = textwrap.dedent(
    """\
    #!{python}
    # Stand-in for the Claude Code CLI: checks its flags, does the task, prints its stream-json format.
    import json, os, sys
    args = sys.argv[1:]
    assert args[:7] == ["--print", "--output-format", "stream-json", "--verbose", "--permission-mode",
                        "bypassPermissions", "--model"], args
    assert args[7] == "opus" and args[8:10] == ["--max-budget-usd", "2.5"], args
    assert open(os.path.expanduser("~/.claude/.credentials.json")).read() == "secret"
    print(json.dumps({{"type": "system", "subtype": "init", "model": args[7], "cwd": os.getcwd()}}))
    import duckdb
    duckdb.connect("tiny.duckdb").execute(
        "CREATE TABLE orders AS SELECT id, amount * 2 AS amount, day FROM raw_orders")
    print(json.dumps({{"type": "result", "subtype": "success", "is_error": False, "duration_ms": 1234,
                      "num_turns": 7, "total_cost_usd": 0.42, "result": "done"}}))
    """
)


@needs_bwrap
def test_claude_code_preset_works_in_the_sandbox_with_its_folders_bound(pytester, run, tiny_suite, monkeypatch):
    checkout = tiny_suite(["tiny001"])
    bin_dir = pytester.path / "bin"
    bin_dir.mkdir()
    claude = bin_dir / "claude"
    claude.write_text(CLAUDE_STAND_IN.format(python=sys.executable))
    claude.chmod(claude.stat().st_mode | stat.S_IEXEC)
    (pytester.path / ".claude").mkdir()
    (pytester.path / ".claude" / ".credentials.json").write_text("secret")  # pytester's HOME is its folder
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    result = run(f"--spider2-root={checkout}", "--spider2-agent=claude-code", "--spider2-model=opus",
                 "--spider2-budget=2.5", "--spider2-sandbox=bwrap", f"--spider2-sandbox-bind={bin_dir}:ro",
                 "--spider2-sandbox-bind=~/.claude:ro")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*agent cost: $0.42 over 1 runs*7 turns"])


@needs_bwrap
def test_a_command_the_sandbox_hides_is_a_usage_error_that_names_the_bind(pytester, run, tiny_suite, monkeypatch):
    bin_dir = pytester.path / "bin"
    bin_dir.mkdir()
    (bin_dir / "claude").write_text("#!/bin/sh\n")
    (bin_dir / "claude").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    result = run(f"--spider2-root={tiny_suite(['tiny001'])}", "--spider2-agent=claude-code", "--spider2-sandbox=bwrap")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*'claude' ({bin_dir}/claude) is not visible inside the sandbox; show it to the "
                                 f"agent with --spider2-sandbox-bind {bin_dir}:ro, or run unsandboxed*"])
