"""Stage 3: run the configured agent in its workspace, under a time limit and a sandbox, keeping its logs.

`spec` parses `--spider2-agent`; `context` is the boundary (AgentContext in, AgentOutcome out); `runners` holds
the built-in agents; `processes` starts and kills commands; `sandbox` decides what a command can see.
"""

from __future__ import annotations

from .context import AgentContext, AgentOutcome, AgentUsage
from .environment import agent_environment
from .runners import outcome_of_hook, run_builtin
from .sandbox import NO_SANDBOX, Sandbox
from .spec import (
    BUILTIN_AGENTS,
    DEFAULT_MODEL,
    AgentSpec,
    AgentSpecError,
    command_word,
    load_callable,
    module_root,
    parse_agent_spec,
    startup_problem,
    template_paths,
)

__all__ = [
    "BUILTIN_AGENTS",
    "DEFAULT_MODEL",
    "NO_SANDBOX",
    "AgentContext",
    "AgentOutcome",
    "AgentSpec",
    "AgentSpecError",
    "AgentUsage",
    "Sandbox",
    "agent_environment",
    "command_word",
    "load_callable",
    "module_root",
    "outcome_of_hook",
    "parse_agent_spec",
    "run_builtin",
    "startup_problem",
    "template_paths",
]
