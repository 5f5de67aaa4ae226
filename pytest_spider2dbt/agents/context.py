"""The agent boundary: what an agent is given (AgentContext) and how its run ended (AgentOutcome)."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..safefiles import read_regular, write_file_atomically
from .processes import ProcessResult, run_process
from .sandbox import NO_SANDBOX, Sandbox
from .spec import SHELL

REPORT_FIELDS = ("cost_usd", "turns", "input_tokens", "output_tokens", "model")
REPORT_BYTES = 64 * 1024


def sane(value: Any, types: tuple[type, ...]) -> bool:
    """Of the expected type, and for numbers finite and not negative (bools are not numbers here)."""
    if not isinstance(value, types) or isinstance(value, bool):
        return False
    return not isinstance(value, (int, float)) or (math.isfinite(value) and value >= 0)


@dataclass(frozen=True)
class AgentUsage:
    """What an agent reports about itself (written to $SPIDER2_AGENT_REPORT as JSON); all optional."""

    cost_usd: float | None = None
    turns: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    model: str | None = None

    @classmethod
    def read(cls, path: Path) -> AgentUsage:
        """The fields of a report file that have the right type and a sane value; anything else is ignored (the
        agent wrote the file: it is read without following a link, and only its first REPORT_BYTES)."""
        try:
            data = json.loads(read_regular(path, REPORT_BYTES) or b"null")
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        kinds: dict[str, tuple[type, ...]] = {
            "cost_usd": (int, float), "turns": (int,), "input_tokens": (int,), "output_tokens": (int,),
            "model": (str,),
        }
        values = {name: data[name] for name, types in kinds.items() if sane(data.get(name), types)}
        return cls(**values)


@dataclass(frozen=True)
class AgentContext:
    """What an agent is given: the task, its private project, a deadline and how to run commands. Never the gold."""

    instance_id: str
    instruction: str
    project_dir: Path
    db_path: Path
    log_dir: Path
    deadline: float
    timeout: float = 0.0
    env: Mapping[str, str] = field(default_factory=dict)
    sandbox: Sandbox = NO_SANDBOX

    @property
    def workspace(self) -> Path:
        """The agent's private folder: the project, its HOME under a sandbox, and its report file."""
        return self.project_dir.parent

    @property
    def report_path(self) -> Path:
        return self.workspace / "agent-report.json"

    @property
    def seconds_left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def run(self, command: str | Sequence[str], *, log_name: str = "agent", stdout_name: str | None = None) -> int:
        """Run a command in the project (a string goes to /bin/sh) and return its exit status (negative for a
        signal); it is killed with everything it started at the deadline."""
        result = self.run_command(command, log_name=log_name, stdout_name=stdout_name)
        return result.returncode if result.returncode is not None else 127

    def run_command(
        self, command: str | Sequence[str], *, log_name: str = "agent", stdout_name: str | None = None
    ) -> ProcessResult:
        argv = [SHELL, "-c", command] if isinstance(command, str) else list(command)
        with self.sandbox.launch(argv, workspace=self.workspace, env=self.env, logs=self.log_dir) as launch:
            return run_process(
                launch.argv,
                cwd=self.project_dir,
                env=launch.env,
                seconds=self.seconds_left,
                stdout_path=self.log_dir / (stdout_name or f"{log_name}.stdout"),
                stderr_path=self.log_dir / f"{log_name}.stderr",
                pass_fds=launch.pass_fds,
            )

    def report(self, **usage: Any) -> None:
        """Report cost, turns, tokens or model (the fields of AgentUsage); merged into earlier reports."""
        unknown = set(usage) - set(REPORT_FIELDS)
        if unknown:
            raise TypeError(f"unknown agent report fields: {', '.join(sorted(unknown))}; use {REPORT_FIELDS}")
        current = {k: v for k, v in asdict(AgentUsage.read(self.report_path)).items() if v is not None}
        current.update({k: v for k, v in usage.items() if v is not None})
        write_file_atomically(self.report_path, json.dumps(current).encode("utf-8"))

    def to_json(self) -> str:
        """The context for a child process; environment and sandbox stay behind (the child inherits the one and
        already runs inside the other)."""
        data: dict[str, Any] = {name: str(getattr(self, name)) for name in ("project_dir", "db_path", "log_dir")}
        data.update(instance_id=self.instance_id, instruction=self.instruction, seconds_left=self.seconds_left,
                    timeout=self.timeout)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> AgentContext:
        data = json.loads(text)
        return cls(
            instance_id=data["instance_id"],
            instruction=data["instruction"],
            project_dir=Path(data["project_dir"]),
            db_path=Path(data["db_path"]),
            log_dir=Path(data["log_dir"]),
            deadline=time.monotonic() + data["seconds_left"],
            timeout=data["timeout"],
            env=dict(os.environ),
        )


@dataclass(frozen=True)
class AgentOutcome:
    """How an agent run ended, as facts: exit status, whether it hit its limit, time, and what it reported."""

    agent: str
    exit_status: int | None
    timed_out: bool
    seconds: float
    limit_seconds: float = 0.0
    error: str | None = None
    started: bool = True
    killable: bool = True
    reused: bool = False
    usage: AgentUsage = field(default_factory=AgentUsage)
    log_dir: Path | None = None

    @property
    def failed(self) -> bool:
        return self.timed_out or self.error is not None or not self.started or bool(self.exit_status)

    def describe(self) -> str:
        """One sentence that says what is true of the run."""
        if self.reused:
            return "agent skipped: the result already in the results folder was judged again (--spider2-reuse)"
        if not self.started:
            return f"agent {self.agent} did not start: {self.error}"
        if self.timed_out and not self.killable:
            return (f"agent {self.agent} ran {self.seconds:.0f} s, past its {self.limit_seconds:g} s limit; an "
                    "in-process hook cannot be killed: run its commands with context.run to keep the deadline")
        if self.timed_out:
            return (f"agent {self.agent} ran past its {self.limit_seconds:g} s limit and was killed with everything "
                    "it started")
        if self.error:
            return f"agent {self.agent} failed: {self.error}"
        if self.exit_status:
            return f"agent {self.agent} exited with status {self.exit_status} after {self.seconds:.1f} s"
        return f"agent {self.agent} finished in {self.seconds:.1f} s"

    def with_usage(self, usage: AgentUsage) -> AgentOutcome:
        return replace(self, usage=usage)
