"""How an agent's commands are started: as they are, or inside a sandbox that shows them only their workspace."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .processes import run_process
from .spec import SHELL

CHECK_SECONDS = 30.0


@dataclass(frozen=True)
class Launch:
    """A command ready for `processes.run_process`: its argv, environment and the file descriptors it inherits."""

    argv: list[str]
    env: dict[str, str]
    pass_fds: tuple[int, ...] = field(default_factory=tuple)


class Sandbox(Protocol):
    """Wraps an agent's command; `isolation` labels every number obtained with it. The command may write in its
    `workspace` and in `logs` (its own log folder), nowhere else."""

    @property
    def isolation(self) -> str: ...

    def launch(
        self, argv: Sequence[str], *, workspace: Path, env: Mapping[str, str], logs: Path | None = None
    ) -> AbstractContextManager[Launch]: ...


@dataclass(frozen=True)
class NoSandbox:
    """Commands run as they are, as this user: they can read every file this user can."""

    isolation: str = "none"

    @contextmanager
    def launch(self, argv: Sequence[str], *, workspace: Path, env: Mapping[str, str],
               logs: Path | None = None) -> Iterator[Launch]:
        yield Launch(list(argv), dict(env))


NO_SANDBOX = NoSandbox()


class SandboxError(Exception):
    """The requested sandbox cannot be used here; the message says how to install or enable it."""


def choose_sandbox(requested: str, *, binds: Sequence[str] = (), hidden: Sequence[Path] = (),
                   read_only: Sequence[Path] = ()) -> Sandbox:
    """The sandbox for `--spider2-sandbox`: `none`, `bwrap` (a SandboxError when it cannot work here), or `auto`
    (bwrap when it is installed and a trial command runs in it, else none, with the reason in its label)."""
    from . import bwrap

    if requested == "none":
        return NO_SANDBOX
    executable = shutil.which("bwrap")
    if executable is None:
        if requested == "bwrap":
            raise SandboxError("--spider2-sandbox bwrap: bubblewrap is not installed; install it "
                               f"({bwrap.INSTALL_HINT}) or run unsandboxed with --spider2-sandbox none")
        return NoSandbox(f"none (bubblewrap is not installed: {bwrap.INSTALL_HINT})")
    sandbox = bwrap.BwrapSandbox.configure(executable, binds=binds, hidden=hidden, read_only=read_only)
    problem = sandbox.trial()
    if problem is None:
        return sandbox
    if requested == "bwrap":
        raise SandboxError(f"--spider2-sandbox bwrap: {executable} cannot create a sandbox here ({problem}); it needs "
                           "user namespaces (sysctl kernel.unprivileged_userns_clone=1, or run as root) or "
                           "run unsandboxed with --spider2-sandbox none")
    return NoSandbox(f"none (bubblewrap cannot create a sandbox here: {problem})")


def hidden_command(sandbox: Sandbox, word: str, env: Mapping[str, str]) -> str | None:
    """Why `word`, a command found on PATH, cannot start inside `sandbox` (a folder it does not show), or None."""
    if isinstance(sandbox, NoSandbox):
        return None
    with tempfile.TemporaryDirectory(prefix="spider2-sandbox-check-") as folder:
        workspace = Path(folder)
        with sandbox.launch([SHELL, "-c", 'command -v "$1"', SHELL, word], workspace=workspace, env=env) as launch:
            found = run_process(launch.argv, cwd=workspace, env=launch.env, seconds=CHECK_SECONDS,
                                stdout_path=workspace / "check.stdout", stderr_path=workspace / "check.stderr",
                                pass_fds=launch.pass_fds)
    if found.returncode == 0:
        return None
    outside = shutil.which(word, path=env.get("PATH")) or word
    folders = dict.fromkeys(str(Path(p).parent) for p in (outside, os.path.realpath(outside)))
    binds = " ".join(f"--spider2-sandbox-bind {folder}:ro" for folder in folders)
    return (f"{word!r} ({outside}) is not visible inside the sandbox; show it to the agent with {binds}, or run "
            "unsandboxed with --spider2-sandbox none")
