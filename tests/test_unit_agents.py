"""Unit tests of the agents stage: the agent spec, the context and outcome, the environment, Claude's stream and
the process runner."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_spider2dbt.agents import (
    AgentContext,
    AgentOutcome,
    AgentSpec,
    AgentSpecError,
    AgentUsage,
    agent_environment,
    load_callable,
    module_root,
    parse_agent_spec,
    startup_problem,
)
from pytest_spider2dbt.agents.claude import claude_command, last_result_event, usage_of
from pytest_spider2dbt.agents.processes import run_process
from pytest_spider2dbt.agents.spec import first_word, missing_command
from pytest_spider2dbt.dbt import QUIET_DBT

BIN = str(Path(sys.executable).parent)

# ---------------------------------------------------------------------------------------------------- spec


@pytest.mark.parametrize("name", ["noop", "dbt", "gold", "reference", "claude-code", "  dbt \n"])
def test_a_builtin_agent_is_its_own_kind(name: str):
    spec = parse_agent_spec(name)
    assert spec == AgentSpec(name.strip())
    assert str(spec) == name.strip()


def test_a_builtin_agent_carries_the_model_and_budget():
    assert parse_agent_spec("claude-code", model="opus", budget_usd=2.5) == AgentSpec("claude-code", "", "opus", 2.5)


def test_a_cmd_agent_keeps_its_whole_template():
    spec = parse_agent_spec("cmd:python agent.py --id {instance_id} --x a:b")
    assert spec == AgentSpec("cmd", "python agent.py --id {instance_id} --x a:b")
    assert str(spec) == "cmd:python agent.py --id {instance_id} --x a:b"


def test_a_python_agent_names_a_module_and_a_function():
    assert parse_agent_spec("python:my.agents:solve") == AgentSpec("python", "my.agents:solve")


@pytest.mark.parametrize("text", ["", "bogus", "cmd:", "cmd:   ", "python:", "python:mod", "python::solve",
                                  "python:mod:not-an-identifier", "Noop", "shell:ls"])
def test_an_unknown_agent_is_an_error_that_lists_the_choices(text: str):
    with pytest.raises(AgentSpecError, match="noop, dbt, gold, reference, claude-code"):
        parse_agent_spec(text)


@pytest.mark.parametrize(
    ("template", "word"),
    [
        ("python3 agent.py {instance_id}", "python3"),
        ("'/opt/my agent/run' --fast", "/opt/my agent/run"),
        ("  ./agent.sh", "./agent.sh"),
        ("{python} agent.py", None),
        ("FOO=1 agent", None),
        ("", None),
        ("# only a comment", None),
        ("agent 'unbalanced", None),
    ],
)
def test_first_word_of_a_template(template: str, word: str | None):
    assert first_word(template) == word


def test_a_command_on_path_or_a_shell_builtin_is_not_missing():
    env = {"PATH": "/usr/bin:/bin"}
    assert missing_command("sh", env) is None
    assert missing_command("cd", env) is None
    assert missing_command("/bin/sh", env) is None


def test_a_command_not_on_path_is_missing_and_the_path_is_named():
    problem = missing_command("no-such-agent-command-xyz", {"PATH": "/nowhere"})
    assert problem is not None
    assert "no-such-agent-command-xyz" in problem and "/nowhere" in problem


def test_a_relative_command_path_is_missing_because_agents_run_in_their_workspace():
    problem = missing_command("./agent.sh", {"PATH": "/usr/bin:/bin"})
    assert problem is not None
    assert "relative path" in problem and "absolute path" in problem


def test_startup_problem_of_claude_code_says_how_to_install_it():
    problem = startup_problem(AgentSpec("claude-code"), {"PATH": "/nowhere"})
    assert problem is not None
    assert "npm install -g @anthropic-ai/claude-code" in problem


def test_startup_problem_of_a_cmd_agent_checks_its_first_word():
    assert "not a command" in str(startup_problem(AgentSpec("cmd", "no-such-agent-xyz {instance_id}"),
                                                  {"PATH": "/nowhere"}))
    assert startup_problem(AgentSpec("cmd", "sh -c true"), {"PATH": "/usr/bin:/bin"}) is None
    assert startup_problem(AgentSpec("cmd", "{python} x"), {"PATH": "/nowhere"}) is None


@pytest.mark.parametrize("kind", ["noop", "dbt", "gold", "reference"])
def test_the_plain_builtin_agents_have_no_startup_problem(kind: str):
    assert startup_problem(AgentSpec(kind), {"PATH": "/nowhere"}) is None


@pytest.fixture
def fresh_modules() -> Iterator[str]:
    """A unique module name prefix; modules imported under it are forgotten after the test."""
    prefix = f"unit_agent_{secrets.token_hex(4)}"
    yield prefix
    for name in [name for name in sys.modules if name.startswith(prefix)]:
        del sys.modules[name]


def test_load_callable_imports_from_the_search_folders_and_restores_sys_path(tmp_path: Path, fresh_modules: str):
    (tmp_path / f"{fresh_modules}.py").write_text("def solve(context):\n    return 'solved'\n")
    path_before = list(sys.path)
    function = load_callable(f"{fresh_modules}:solve", [tmp_path])
    assert function(None) == "solved"
    assert sys.path == path_before
    assert module_root(f"{fresh_modules}:solve") == tmp_path.resolve()


def test_module_root_of_a_module_inside_a_package(tmp_path: Path, fresh_modules: str):
    package = tmp_path / fresh_modules / "agents"
    package.mkdir(parents=True)
    (tmp_path / fresh_modules / "__init__.py").write_text("def solve(context):\n    pass\n")
    (package / "__init__.py").write_text("")
    (package / "claude.py").write_text("def solve(context):\n    pass\n")
    load_callable(f"{fresh_modules}.agents.claude:solve", [tmp_path])
    load_callable(f"{fresh_modules}:solve", [tmp_path])
    assert module_root(f"{fresh_modules}.agents.claude:solve") == tmp_path.resolve()
    assert module_root(f"{fresh_modules}:solve") == tmp_path.resolve()


def test_module_root_of_a_module_never_imported_is_none(fresh_modules: str):
    assert module_root(f"{fresh_modules}:solve") is None


def test_load_callable_of_a_module_that_cannot_be_imported_names_where_it_looked(tmp_path: Path, fresh_modules: str):
    with pytest.raises(AgentSpecError, match=f"cannot import '{fresh_modules}'.*{tmp_path}"):
        load_callable(f"{fresh_modules}:solve", [tmp_path])


def test_load_callable_of_a_module_that_raises_import_error_is_an_agent_spec_error(
    tmp_path: Path, fresh_modules: str
):
    (tmp_path / f"{fresh_modules}.py").write_text("import no_such_dependency_xyz\n")
    with pytest.raises(AgentSpecError, match="no_such_dependency_xyz"):
        load_callable(f"{fresh_modules}:solve", [tmp_path])


@pytest.mark.parametrize("source", ["", "solve = 42\n"], ids=["absent", "not-callable"])
def test_load_callable_of_a_missing_or_uncallable_function_is_an_error(tmp_path: Path, fresh_modules: str,
                                                                        source: str):
    (tmp_path / f"{fresh_modules}.py").write_text(source)
    with pytest.raises(AgentSpecError, match="no callable 'solve'"):
        load_callable(f"{fresh_modules}:solve", [tmp_path])


# ------------------------------------------------------------------------------------------------- context


def test_agent_usage_reads_every_field_of_a_good_report(tmp_path: Path):
    report = tmp_path / "agent-report.json"
    report.write_text(json.dumps({"cost_usd": 1.25, "turns": 7, "input_tokens": 100, "output_tokens": 20,
                                  "model": "sonnet", "extra": "ignored"}))
    assert AgentUsage.read(report) == AgentUsage(1.25, 7, 100, 20, "sonnet")


def test_agent_usage_keeps_only_fields_of_the_right_type(tmp_path: Path):
    report = tmp_path / "agent-report.json"
    report.write_text(json.dumps({"cost_usd": 2, "turns": "7", "input_tokens": True, "output_tokens": 1.5,
                                  "model": 3}))
    assert AgentUsage.read(report) == AgentUsage(cost_usd=2)


@pytest.mark.parametrize("text", ["not json", "[1, 2]", "null", "", "\xff\xfe"])
def test_agent_usage_of_a_bad_report_is_empty(tmp_path: Path, text: str):
    report = tmp_path / "agent-report.json"
    report.write_text(text, encoding="latin-1")
    assert AgentUsage.read(report) == AgentUsage()


def test_agent_usage_of_a_missing_report_is_empty(tmp_path: Path):
    assert AgentUsage.read(tmp_path / "absent.json") == AgentUsage()


def make_context(tmp_path: Path, **fields) -> AgentContext:
    project = tmp_path / "ws" / "shop"
    project.mkdir(parents=True, exist_ok=True)
    values = {"instance_id": "shop001", "instruction": "Build orders.", "project_dir": project,
              "db_path": project / "shop.duckdb", "log_dir": tmp_path / "logs", "deadline": time.monotonic() + 100,
              "timeout": 100.0}
    values.update(fields)
    return AgentContext(**values)


def test_the_report_file_is_in_the_workspace_beside_the_project(tmp_path: Path):
    context = make_context(tmp_path)
    assert context.workspace == tmp_path / "ws"
    assert context.report_path == tmp_path / "ws" / "agent-report.json"


def test_report_merges_with_earlier_reports(tmp_path: Path):
    context = make_context(tmp_path)
    context.report(cost_usd=0.5, model="sonnet")
    context.report(turns=3, cost_usd=0.75)
    context.report(model=None)
    assert AgentUsage.read(context.report_path) == AgentUsage(cost_usd=0.75, turns=3, model="sonnet")


def test_report_refuses_unknown_fields_and_writes_nothing(tmp_path: Path):
    context = make_context(tmp_path)
    with pytest.raises(TypeError, match="cost"):
        context.report(costs=1.0)
    assert not context.report_path.exists()


def test_report_does_not_write_through_a_symlink_planted_in_the_workspace(tmp_path: Path):
    context = make_context(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.symlink(victim, context.report_path)
    try:
        context.report(turns=3)
    except OSError:
        pass  # refusing is as good as replacing
    assert victim.read_text() == "precious\n"


def test_agent_usage_read_does_not_follow_a_symlink_planted_in_the_workspace(tmp_path: Path):
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"model": "read from outside the workspace"}))
    os.symlink(outside, tmp_path / "agent-report.json")
    assert AgentUsage.read(tmp_path / "agent-report.json") == AgentUsage()


def test_seconds_left_never_goes_below_zero(tmp_path: Path):
    assert make_context(tmp_path, deadline=time.monotonic() - 10).seconds_left == 0.0
    assert 99 < make_context(tmp_path).seconds_left <= 100


def test_a_context_survives_to_json_and_from_json(tmp_path: Path):
    context = make_context(tmp_path, env={"SECRET_TOKEN": "hunter2"})
    text = context.to_json()
    assert "hunter2" not in text
    again = AgentContext.from_json(text)
    for name in ("instance_id", "instruction", "project_dir", "db_path", "log_dir", "timeout"):
        assert getattr(again, name) == getattr(context, name)
    assert again.deadline == pytest.approx(context.deadline, abs=1.0)
    assert again.env == dict(os.environ)


def outcome(**fields) -> AgentOutcome:
    values = {"agent": "cmd:x", "exit_status": 0, "timed_out": False, "seconds": 12.34, "limit_seconds": 60.0}
    values.update(fields)
    return AgentOutcome(**values)


@pytest.mark.parametrize(
    ("run", "failed", "text"),
    [
        (outcome(reused=True), False,
         "agent skipped: the result already in the results folder was judged again (--spider2-reuse)"),
        (outcome(exit_status=None, started=False, error="no such file"), True,
         "agent cmd:x did not start: no such file"),
        (outcome(timed_out=True, killable=False, seconds=75.2), True,
         "agent cmd:x ran 75 s, past its 60 s limit; an in-process hook cannot be killed: run its commands with "
         "context.run to keep the deadline"),
        (outcome(timed_out=True, exit_status=-15), True,
         "agent cmd:x ran past its 60 s limit and was killed with everything it started"),
        (outcome(error="ValueError: boom"), True, "agent cmd:x failed: ValueError: boom"),
        (outcome(exit_status=2), True, "agent cmd:x exited with status 2 after 12.3 s"),
        (outcome(exit_status=-9), True, "agent cmd:x exited with status -9 after 12.3 s"),
        (outcome(), False, "agent cmd:x finished in 12.3 s"),
    ],
    ids=["reused", "not-started", "timed-out-unkillable", "timed-out", "error", "non-zero", "signal", "finished"],
)
def test_an_outcome_describes_what_is_true_of_the_run(run: AgentOutcome, failed: bool, text: str):
    assert run.describe() == text
    assert run.failed is failed


def test_with_usage_replaces_only_the_usage():
    usage = AgentUsage(cost_usd=1.0)
    run = outcome(exit_status=3)
    assert run.with_usage(usage) == outcome(exit_status=3, usage=usage)


# --------------------------------------------------------------------------------------------- environment


def environment(base: dict[str, str], **overrides) -> dict[str, str]:
    values = {"instance_id": "shop001", "instruction": "Build orders.", "project_dir": Path("/ws/shop"),
              "db_path": Path("/ws/shop/shop.duckdb"), "report_path": Path("/ws/agent-report.json"),
              "hidden": [Path("/data/Spider2"), Path("/runs/out")]}
    values.update(overrides)
    return agent_environment(base, **values)


def test_the_environment_drops_plugin_and_pytest_variables_and_sets_the_task():
    env = environment({"SPIDER2_ROOT": "/x", "SPIDER2_OUT": "/y", "PYTEST_XDIST_WORKER": "gw0",
                       "PYTEST_CURRENT_TEST": "t", "HOME": "/home/me", "PATH": "/usr/bin"})
    assert {name for name in env if name.startswith(("SPIDER2_", "PYTEST_"))} == {
        "SPIDER2_INSTANCE_ID", "SPIDER2_INSTRUCTION", "SPIDER2_PROJECT_DIR", "SPIDER2_DB_PATH", "SPIDER2_AGENT_REPORT"}
    assert env["SPIDER2_INSTANCE_ID"] == "shop001"
    assert env["SPIDER2_INSTRUCTION"] == "Build orders."
    assert env["SPIDER2_PROJECT_DIR"] == "/ws/shop"
    assert env["SPIDER2_DB_PATH"] == "/ws/shop/shop.duckdb"
    assert env["SPIDER2_AGENT_REPORT"] == "/ws/agent-report.json"
    assert env["PWD"] == "/ws/shop"
    assert env["HOME"] == "/home/me"


def test_the_environment_drops_variables_that_lead_to_a_hidden_path():
    base = {"GOLD": "/data/Spider2/spider2-dbt/evaluation_suite/gold", "OUT": "x:/runs/out/logs", "OK": "/data/other"}
    env = environment(base)
    assert "GOLD" not in env and "OUT" not in env
    assert env["OK"] == "/data/other"


def test_the_environment_quiets_dbt():
    env = environment({"DBT_SEND_ANONYMOUS_USAGE_STATS": "true"})
    assert {name: env[name] for name in QUIET_DBT} == QUIET_DBT


def test_the_environment_puts_this_pythons_bin_first_on_path_once():
    env = environment({"PATH": f"/usr/local/bin:{BIN}:/usr/bin::"})
    assert env["PATH"].split(os.pathsep) == [BIN, "/usr/local/bin", "/usr/bin"]


def test_the_environment_has_a_path_even_when_the_caller_had_none():
    assert environment({})["PATH"].split(os.pathsep)[0] == BIN


def test_the_environment_leaves_pythonpath_alone_unless_asked():
    assert "PYTHONPATH" not in environment({})
    assert environment({"PYTHONPATH": "/mine"})["PYTHONPATH"] == "/mine"


def test_the_environment_puts_the_agent_folders_first_on_pythonpath_when_asked():
    assert environment({}, python_path=[Path("/agents"), Path("/lib")])["PYTHONPATH"] == "/agents:/lib"
    assert environment({"PYTHONPATH": "/mine"}, python_path=[Path("/agents")])["PYTHONPATH"] == "/agents:/mine"


def test_the_environment_does_not_change_the_callers_mapping():
    base = {"SPIDER2_ROOT": "/x", "PATH": "/usr/bin"}
    environment(base)
    assert base == {"SPIDER2_ROOT": "/x", "PATH": "/usr/bin"}


def test_a_path_entry_inside_a_hidden_folder_does_not_reach_the_agent():
    env = environment({"PATH": "/data/Spider2/venv/bin:/usr/bin"})
    assert "/data/Spider2" not in env["PATH"]


def test_a_pythonpath_inside_a_hidden_folder_does_not_reach_a_python_agent():
    env = environment({"PYTHONPATH": "/data/Spider2/methods"}, python_path=[Path("/agents")])
    assert "/data/Spider2" not in env["PYTHONPATH"]


# -------------------------------------------------------------------------------------------------- claude


def result_event(**fields) -> dict:
    event = {"type": "result", "total_cost_usd": 0.42, "num_turns": 9,
             "usage": {"input_tokens": 1200, "output_tokens": 300},
             "modelUsage": {"claude-sonnet-4": {"costUSD": 0.4}, "claude-haiku": {"costUSD": 0.02}}}
    event.update(fields)
    return event


def test_usage_of_a_result_event():
    assert usage_of(result_event()) == AgentUsage(cost_usd=0.42, turns=9, input_tokens=1200, output_tokens=300,
                                                  model="claude-sonnet-4")


def test_usage_of_an_integer_cost_is_kept():
    assert usage_of(result_event(total_cost_usd=1)).cost_usd == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"total_cost_usd": "0.42", "num_turns": 9.0, "usage": "lots", "modelUsage": {}},
        {"total_cost_usd": True, "num_turns": False, "usage": {"input_tokens": "1", "output_tokens": None},
         "modelUsage": ["claude"]},
        {"total_cost_usd": None, "num_turns": None, "usage": None, "modelUsage": None},
    ],
)
def test_usage_of_a_result_event_drops_values_of_the_wrong_type(fields: dict):
    assert usage_of(result_event(**fields)) == AgentUsage()


def test_usage_of_an_empty_event_is_empty():
    assert usage_of({}) == AgentUsage()


def test_last_result_event_skips_junk_lines(tmp_path: Path):
    stream = tmp_path / "agent.jsonl"
    lines = [
        json.dumps({"type": "system", "subtype": "init"}),
        "not json at all",
        json.dumps({"type": "result", "num_turns": 1}),
        "[1, 2, 3]",
        '"a string"',
        "",
        json.dumps({"type": "result", "num_turns": 2}),
        json.dumps({"type": "assistant"}),
        '{"type": "result", "num_turns": 3',  # cut short by the deadline
    ]
    stream.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe garbage\n")
    assert last_result_event(stream) == {"type": "result", "num_turns": 2}


def test_last_result_event_of_a_stream_without_one_or_without_a_file_is_none(tmp_path: Path):
    stream = tmp_path / "agent.jsonl"
    stream.write_text(json.dumps({"type": "assistant"}) + "\n")
    assert last_result_event(stream) is None
    assert last_result_event(tmp_path / "absent.jsonl") is None


def finishes_quickly(function, fifo: Path) -> bool:
    """Whether `function()` returns within half a second; if not, a writer opens and closes `fifo` to release it."""
    reader = threading.Thread(target=function, daemon=True)
    reader.start()
    reader.join(0.5)
    if not reader.is_alive():
        return True
    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    reader.join(5.0)
    return False


def test_last_result_event_of_a_fifo_planted_in_the_log_folder_does_not_wait(tmp_path: Path):
    os.mkfifo(tmp_path / "agent.jsonl")
    assert finishes_quickly(lambda: last_result_event(tmp_path / "agent.jsonl"), tmp_path / "agent.jsonl")


def test_claude_command_passes_model_budget_and_instruction_last():
    command = claude_command(AgentSpec("claude-code", model="opus", budget_usd=2.5), "Build orders.")
    assert command[0] == "claude"
    assert command[command.index("--model") + 1] == "opus"
    assert command[command.index("--max-budget-usd") + 1] == "2.5"
    assert command[-1] == "Build orders."
    assert "--max-budget-usd" not in claude_command(AgentSpec("claude-code"), "x")


# ----------------------------------------------------------------------------------------------- processes


def marker() -> str:
    """A unique `sleep` duration that names one test's processes in `ps`."""
    return f"{secrets.randbelow(9000) + 1000}.{secrets.randbelow(10**6):06d}"


def running(mark: str) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True, check=True).stdout
    return [line for line in listing.splitlines() if f"sleep {mark}" in line]


def run(tmp_path: Path, argv: list[str], seconds: float = 10.0, env: dict[str, str] | None = None):
    return run_process(argv, cwd=tmp_path, env=env if env is not None else {"PATH": "/usr/bin:/bin"},
                       seconds=seconds, stdout_path=tmp_path / "logs" / "agent.stdout",
                       stderr_path=tmp_path / "logs" / "agent.stderr")


def test_run_process_returns_the_exit_status_and_keeps_the_output(tmp_path: Path):
    result = run(tmp_path, ["/bin/sh", "-c", "echo out; echo err >&2; pwd; echo $ONLY; exit 3"], env={"ONLY": "me"})
    assert (result.returncode, result.timed_out, result.started, result.why_not_started) == (3, False, True, None)
    assert (tmp_path / "logs" / "agent.stdout").read_text() == f"out\n{tmp_path}\nme\n"
    assert (tmp_path / "logs" / "agent.stderr").read_text() == "err\n"


def test_run_process_appends_to_its_logs(tmp_path: Path):
    run(tmp_path, ["/bin/sh", "-c", "echo one"])
    run(tmp_path, ["/bin/sh", "-c", "echo two"])
    assert (tmp_path / "logs" / "agent.stdout").read_text() == "one\ntwo\n"


def test_run_process_gives_the_command_no_stdin(tmp_path: Path):
    result = run(tmp_path, ["/bin/sh", "-c", "cat; echo done"], seconds=5)
    assert result.returncode == 0
    assert (tmp_path / "logs" / "agent.stdout").read_text() == "done\n"


def test_run_process_kills_a_command_at_its_deadline(tmp_path: Path):
    mark = marker()
    started = time.monotonic()
    result = run(tmp_path, ["sleep", mark], seconds=0.3)
    assert time.monotonic() - started < 2.0
    assert result.timed_out
    assert result.returncode is not None and result.returncode < 0
    assert running(mark) == []


def test_a_command_that_does_not_exist_gives_a_start_error(tmp_path: Path):
    result = run(tmp_path, ["/no/such/agent-xyz", "--go"])
    assert result.returncode is None
    assert not result.started
    assert result.start_error is not None and result.start_error.startswith("/no/such/agent-xyz: ")
    assert result.why_not_started == result.start_error


def test_a_shell_that_cannot_find_the_command_did_not_start(tmp_path: Path):
    result = run(tmp_path, ["/bin/sh", "-c", "no-such-agent-command-xyz"])
    assert result.returncode == 127
    assert not result.started
    assert result.why_not_started == "command not found (status 127)"


@pytest.mark.parametrize(
    "script",
    [
        "sleep {mark} & exit 0",
        "setsid sleep {mark} & exit 0",
        "(setsid sleep {mark} &) ; exit 0",
    ],
    ids=["same-group", "own-session", "double-fork"],
)
def test_a_background_child_is_killed_when_the_command_ends(tmp_path: Path, script: str):
    mark = marker()
    started = time.monotonic()
    result = run(tmp_path, ["/bin/sh", "-c", script.format(mark=mark)])
    assert result.returncode == 0
    assert not result.timed_out
    assert running(mark) == []
    assert time.monotonic() - started < 2.0


def test_a_background_child_is_killed_at_the_deadline(tmp_path: Path):
    mark = marker()
    result = run(tmp_path, ["/bin/sh", "-c", f"setsid sleep {mark} & sleep {mark}"], seconds=0.3)
    assert result.timed_out
    assert running(mark) == []
