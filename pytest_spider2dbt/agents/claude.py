"""Claude Code, headless: its command line and what its stream-json output says about the run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .context import AgentUsage
from .spec import AgentSpec

STREAM_LOG = "agent.jsonl"


def claude_command(spec: AgentSpec, instruction: str) -> list[str]:
    command = ["claude", "--print", "--output-format", "stream-json", "--verbose",
               "--permission-mode", "bypassPermissions", "--model", spec.model]
    if spec.budget_usd is not None:
        command += ["--max-budget-usd", f"{spec.budget_usd:g}"]
    return [*command, instruction]


def events(stream: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a stream-json log, one a line; lines that are not JSON objects are skipped."""
    try:
        with stream.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(event, dict):
                    yield event
    except OSError:
        return


def last_result_event(stream: Path) -> dict[str, Any] | None:
    """The final `{"type": "result", ...}` event, if the run got that far."""
    final = None
    for event in events(stream):
        if event.get("type") == "result":
            final = event
    return final


def usage_of(result_event: dict[str, Any]) -> AgentUsage:
    """Cost, turns, tokens and model of a run from its result event."""
    usage = result_event.get("usage")
    tokens: dict[str, Any] = usage if isinstance(usage, dict) else {}
    models = result_event.get("modelUsage")
    model = next(iter(models), None) if isinstance(models, dict) and models else None

    def number(value: Any, kind: type) -> Any:
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) and (
            kind is float or isinstance(value, int)) else None

    return AgentUsage(
        cost_usd=number(result_event.get("total_cost_usd"), float),
        turns=number(result_event.get("num_turns"), int),
        input_tokens=number(tokens.get("input_tokens"), int),
        output_tokens=number(tokens.get("output_tokens"), int),
        model=model if isinstance(model, str) else None,
    )
