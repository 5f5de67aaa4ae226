"""Which agent to run: the `--spider2-agent` value parsed, and checked that it can start before the sweep."""

from __future__ import annotations

import importlib
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUILTIN_AGENTS = ("noop", "dbt", "gold", "reference", "claude-code")
DEFAULT_MODEL = "sonnet"
# The shell that runs a `cmd:` template (documented in README.md).
SHELL = "/bin/sh"


class AgentSpecError(ValueError):
    """The agent cannot be used at all; the message says what to do."""


@dataclass(frozen=True)
class AgentSpec:
    kind: str
    value: str = ""
    model: str = DEFAULT_MODEL
    budget_usd: float | None = None

    def __str__(self) -> str:
        return self.kind if not self.value else f"{self.kind}:{self.value}"


def parse_agent_spec(text: str, *, model: str = DEFAULT_MODEL, budget_usd: float | None = None) -> AgentSpec:
    """`noop`, `dbt`, `gold`, `reference`, `claude-code`, `cmd:TEMPLATE` or `python:module:function`."""
    text = text.strip()
    if text in BUILTIN_AGENTS:
        return AgentSpec(text, model=model, budget_usd=budget_usd)
    kind, _, value = text.partition(":")
    if kind == "cmd" and value.strip():
        return AgentSpec("cmd", value)
    if kind == "python" and valid_callable_path(value):
        return AgentSpec("python", value)
    raise AgentSpecError(
        f"unknown agent {text!r}: use one of {', '.join(BUILTIN_AGENTS)}, 'cmd:<shell command template>' "
        "or 'python:<package.module>:<function>'"
    )


def valid_callable_path(value: str) -> bool:
    module, _, function = value.partition(":")
    return bool(module) and function.isidentifier()


@contextmanager
def importable_from(folders: Sequence[Path]) -> Iterator[None]:
    """Put folders first on sys.path for the duration (the rootdir, where a user's agent module lives)."""
    added = [str(folder) for folder in folders if str(folder) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for folder in added:
            sys.path.remove(folder)


def load_callable(path: str, search: Sequence[Path] = ()) -> Callable[..., Any]:
    """The function named by `module:function`, imported with `search` folders first on the import path."""
    module_name, _, function_name = path.partition(":")
    try:
        with importable_from(search):
            module = importlib.import_module(module_name)
    except ImportError as error:
        places = ", ".join(str(folder) for folder in search) or "sys.path"
        raise AgentSpecError(
            f"python agent {path!r}: cannot import {module_name!r} ({error}); it is looked up in {places} and on "
            "the installed packages"
        ) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise AgentSpecError(f"python agent {path!r}: {module_name} has no callable {function_name!r}")
    return function


def module_root(path: str) -> Path | None:
    """The sys.path folder the agent module of `python:module:function` was imported from."""
    module = sys.modules.get(path.partition(":")[0])
    file = getattr(module, "__file__", None)
    if file is None:
        return None
    root = Path(file).resolve().parent
    for _ in range(path.partition(":")[0].count(".") + (Path(file).name == "__init__.py")):
        root = root.parent
    return root


def first_word(template: str) -> str | None:
    """The command a `cmd:` template starts with, when it is a plain word (no placeholder, no shell syntax)."""
    try:
        words = shlex.split(template, comments=True)
    except ValueError:
        return None
    if not words or "{" in words[0] or "=" in words[0]:
        return None
    return words[0]


def missing_command(word: str, env: Mapping[str, str]) -> str | None:
    """Why `word` cannot start under the agent's shell and PATH, or None when it can (builtins included)."""
    if "/" in word and not Path(word).is_absolute():
        return (f"{word!r} is a relative path, and an agent's command runs in each instance's private workspace, "
                "where it does not exist; give its absolute path")
    found = subprocess.run([SHELL, "-c", 'command -v "$1"', SHELL, word], env=dict(env), capture_output=True)
    if found.returncode != 0:
        return f"{word!r} is not a command on the agent's PATH ({env.get('PATH', '')})"
    return None


def command_word(spec: AgentSpec) -> str | None:
    """The command an agent starts with, when the harness can check it before the sweep."""
    if spec.kind == "claude-code":
        return "claude"
    return first_word(spec.value) if spec.kind == "cmd" else None


def startup_problem(spec: AgentSpec, env: Mapping[str, str]) -> str | None:
    """Why the agent cannot start at all (checked once, before the sweep), or None."""
    word = command_word(spec)
    problem = missing_command(word, env) if word is not None else None
    if problem and spec.kind == "claude-code":
        return ("the claude-code agent needs the `claude` CLI (Claude Code) on PATH: "
                "npm install -g @anthropic-ai/claude-code")
    return problem


def template_paths(spec: AgentSpec) -> tuple[Path, ...]:
    """The existing absolute paths a `cmd:` template names (its script, its tools): an agent's sandbox shows them,
    and only them, read-only (a script's sibling files need --spider2-sandbox-bind)."""
    if spec.kind != "cmd":
        return ()
    try:
        words = shlex.split(spec.value, comments=True)
    except ValueError:
        return ()
    found = [Path(word) for word in words if word.startswith("/") and "{" not in word and Path(word).exists()]
    return tuple(dict.fromkeys(found))
