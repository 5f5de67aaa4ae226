"""Claude Code, headless: its command line and what its stream-json output says about the run: its usage (cost,
turns, tokens) and, for the report, its conversation as plain data."""

from __future__ import annotations

import functools
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..safefiles import open_regular
from .context import AgentUsage
from .spec import AgentSpec

STREAM_LOG = "agent.jsonl"


def claude_command(spec: AgentSpec, instruction: str) -> list[str]:
    command = ["claude", "--print", "--output-format", "stream-json", "--verbose",
               "--permission-mode", "bypassPermissions", "--model", spec.model]
    if spec.budget_usd is not None:
        command += ["--max-budget-usd", f"{spec.budget_usd:g}"]
    return [*command, instruction]


def last_result_event(stream: Path) -> dict[str, Any] | None:
    """The final `{"type": "result", ...}` event, if the run got that far (read within bounded_events' limits)."""
    results = [event for event in bounded_events(stream)[0] if event.get("type") == "result"]
    return results[-1] if results else None


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


# ------------------------------------------------------------------------------------ the conversation

# A conversation log can hold megabytes of tool output: only its first CONVERSATION_BYTES are parsed (and the
# final result event from its last RESULT_TAIL_BYTES), and every text shown is capped.
CONVERSATION_BYTES = 2 * 2**20
RESULT_TAIL_BYTES = 256 * 1024
TEXT_CAP = 1500
INPUT_CAP = 600
OUTPUT_HEAD = 200
OUTPUT_TAIL = 400
SUMMARY_CAP = 160
MAX_TURNS = 300
SUMMARY_KEYS = ("command", "file_path", "path", "pattern", "url", "query", "description")


@dataclass
class ToolCall:
    """One tool call: what it acts on, its input as text, and the start and end of what came back (None when
    no result came back)."""

    name: str
    summary: str
    input: str
    output: str | None = None
    is_error: bool = False


@dataclass
class Turn:
    """One assistant message: its text and the tools it called; `subagent` when a Task sub-agent wrote it."""

    number: int
    texts: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    subagent: bool = False


@dataclass(frozen=True)
class FinalResult:
    """The run's closing `result` event: how it ended, its last message, cost and turns."""

    subtype: str
    is_error: bool
    text: str
    cost_usd: float | None
    turns: int | None
    seconds: float | None


@dataclass
class Conversation:
    """What a stream-json log says the agent did, capped for display; `bytes_not_read` counts the log's unparsed
    middle and `turns_not_shown` the turns past MAX_TURNS."""

    model: str | None = None
    turns: list[Turn] = field(default_factory=list)
    final: FinalResult | None = None
    turns_not_shown: int = 0
    bytes_not_read: int = 0


def capped(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit:,} more characters]"


def head_and_tail(text: str, head: int = OUTPUT_HEAD, tail: int = OUTPUT_TAIL) -> str:
    """`text`, or its start and its end (where a command's output says how it ended) and how much is left out."""
    if len(text) <= head + tail:
        return text
    return f"{text[:head]}\n[... {len(text) - head - tail:,} characters ...]\n{text[-tail:]}"


def one_line(text: str, limit: int = SUMMARY_CAP) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def tool_summary(tool_input: Any) -> str:
    """What a call acts on, in one line: its command, file, pattern or URL."""
    if not isinstance(tool_input, dict):
        return ""
    for key in SUMMARY_KEYS:
        value = tool_input.get(key)
        if isinstance(value, str) and value.strip():
            return one_line(value)
    return ""


def input_text(tool_input: Any) -> str:
    """A tool's input as `name: value` lines, texts as they are (a command or a file's content reads as written)."""
    if not isinstance(tool_input, dict):
        return json.dumps(tool_input, default=str)
    return "\n".join(f"{name}: {value if isinstance(value, str) else json.dumps(value, default=str)}"
                     for name, value in tool_input.items())


def result_text(content: Any) -> str:
    """A tool result's content (a string, or a list of text blocks) as plain text; other blocks are named."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return "" if content is None else json.dumps(content, default=str)
    parts = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif isinstance(block, dict):
            parts.append(f"[{block.get('type', 'unknown')} block]")
    return "\n".join(parts)


def final_result(event: dict[str, Any]) -> FinalResult:
    usage = usage_of(event)
    duration = event.get("duration_ms")
    text = event.get("result")
    return FinalResult(
        subtype=str(event.get("subtype", "")),
        is_error=bool(event.get("is_error")),
        text=capped(text if isinstance(text, str) else "", TEXT_CAP),
        cost_usd=usage.cost_usd,
        turns=usage.turns,
        seconds=duration / 1000 if isinstance(duration, (int, float)) and not isinstance(duration, bool) else None,
    )


class ConversationBuilder:
    """Folds stream-json events into a Conversation; consecutive events of one message make one turn."""

    def __init__(self) -> None:
        self.conversation = Conversation()
        self.calls: dict[str, ToolCall] = {}
        self.message_id: Any = None

    def add(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "init" and isinstance(event.get("model"), str):
            self.conversation.model = event["model"]
        elif kind == "assistant":
            self.add_assistant(event)
        elif kind == "user":
            self.add_tool_results(event)
        elif kind == "result":
            self.conversation.final = final_result(event)

    def add_assistant(self, event: dict[str, Any]) -> None:
        message = event.get("message")
        if not isinstance(message, dict):
            return
        turn = self.turn_for(message.get("id"), bool(event.get("parent_tool_use_id")))
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict) or turn is None:
                continue
            if block.get("type") == "text" and str(block.get("text", "")).strip():
                turn.texts.append(capped(str(block["text"]), TEXT_CAP))
            elif block.get("type") == "tool_use":
                call = ToolCall(name=str(block.get("name", "?")), summary=tool_summary(block.get("input")),
                                input=capped(input_text(block.get("input")), INPUT_CAP))
                turn.tool_calls.append(call)
                self.calls[str(block.get("id"))] = call

    def turn_for(self, message_id: Any, subagent: bool) -> Turn | None:
        """The turn a message's blocks go to: the current one when the message continues, else a new one (None
        past MAX_TURNS, which are counted, not kept)."""
        turns = self.conversation.turns
        if turns and message_id is not None and message_id == self.message_id:
            return turns[-1]
        self.message_id = message_id
        if len(turns) >= MAX_TURNS:
            self.conversation.turns_not_shown += 1
            return None
        turns.append(Turn(number=len(turns) + 1, subagent=subagent))
        return turns[-1]

    def add_tool_results(self, event: dict[str, Any]) -> None:
        message = event.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                call = self.calls.get(str(block.get("tool_use_id")))
                if call is not None:
                    call.output = head_and_tail(result_text(block.get("content")))
                    call.is_error = bool(block.get("is_error"))


def bounded_events(stream: Path) -> tuple[list[dict[str, Any]], int]:
    """The events of the log's first CONVERSATION_BYTES, then those of its last RESULT_TAIL_BYTES when the log is
    longer (only its result event is wanted there), and the number of bytes skipped in between."""
    file = open_regular(stream)
    if file is None:
        return [], 0
    with file:
        size = os.fstat(file.fileno()).st_size
        head = file.read(CONVERSATION_BYTES)
        skipped = max(0, size - len(head))
        tail = b""
        if skipped:
            file.seek(max(len(head), size - RESULT_TAIL_BYTES))
            tail = file.read(RESULT_TAIL_BYTES).partition(b"\n")[2]  # its first line is a line's end
    found = parsed_lines(head, complete_last=not skipped)
    found += [event for event in parsed_lines(tail, complete_last=True) if event.get("type") == "result"]
    return found, skipped


def parsed_lines(data: bytes, *, complete_last: bool) -> list[dict[str, Any]]:
    """JSON objects of newline-separated bytes; a last line cut by a read limit is dropped."""
    lines = data.split(b"\n")
    if not complete_last:
        lines = lines[:-1]
    found = []
    for line in lines:
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(event, dict):
            found.append(event)
    return found


def conversation_of(stream: Path) -> Conversation | None:
    """The conversation in a stream-json log, or None when there is no such regular file (a symlink is not
    followed). Parsed once per version of the file (path, modification time and size), since the report is
    rendered again and again during a sweep: the object returned is shared, to be read, never changed."""
    try:
        status = os.lstat(stream)
    except OSError:
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    return cached_conversation(str(stream), status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=256)
def cached_conversation(path: str, mtime_ns: int, size: int) -> Conversation:
    events_read, skipped = bounded_events(Path(path))
    builder = ConversationBuilder()
    for event in events_read:
        builder.add(event)
    builder.conversation.bytes_not_read = skipped
    return builder.conversation
