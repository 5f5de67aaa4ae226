"""How an agent's commands are started: as they are, or inside a sandbox that shows them only their workspace."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Launch:
    """A command ready for `processes.run_process`: its argv, environment and the file descriptors it inherits."""

    argv: list[str]
    env: dict[str, str]
    pass_fds: tuple[int, ...] = field(default_factory=tuple)


class Sandbox(Protocol):
    """Wraps an agent's command; `isolation` labels every number obtained with it."""

    @property
    def isolation(self) -> str: ...

    def launch(
        self, argv: Sequence[str], *, workspace: Path, env: Mapping[str, str]
    ) -> AbstractContextManager[Launch]: ...


@dataclass(frozen=True)
class NoSandbox:
    """Commands run as they are, as this user: they can read every file this user can."""

    isolation: str = "none"

    @contextmanager
    def launch(self, argv: Sequence[str], *, workspace: Path, env: Mapping[str, str]) -> Iterator[Launch]:
        yield Launch(list(argv), dict(env))


NO_SANDBOX = NoSandbox()


class SandboxError(Exception):
    """The requested sandbox cannot be used here; the message says how to install or enable it."""


def choose_sandbox(requested: str, *, binds: Sequence[str] = (), hidden: Sequence[Path] = (),
                   read_only: Sequence[Path] = ()) -> Sandbox:
    """The sandbox for `--spider2-sandbox` (auto, bwrap or none)."""
    if requested == "bwrap":
        raise SandboxError("--spider2-sandbox bwrap: bubblewrap support is not built yet")
    return NO_SANDBOX
