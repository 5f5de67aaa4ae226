"""Tails of agent logs that stay small whatever the agent printed: only the end of each file is read."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..safefiles import open_regular

TAIL_LINES = 20
TAIL_BYTES = 8 * 1024
LINE_WIDTH = 300
# Everything the logs add to a failure report; with the match report it stays well under 20 KB.
TOTAL_BYTES = 12 * 1024


@dataclass(frozen=True)
class LogTail:
    """The last lines of one log file, already capped; `dropped` says how much of the file is not shown."""

    path: Path
    lines: list[str]
    size: int
    dropped_bytes: int
    cut_lines: int

    def render(self) -> str:
        notes = []
        if self.dropped_bytes:
            notes.append(f"{self.dropped_bytes:,} earlier bytes not shown")
        if self.cut_lines:
            notes.append(f"{self.cut_lines} long line(s) cut to {LINE_WIDTH} characters")
        head = f"--- last {len(self.lines)} line(s) of {self.path}"
        head += f" ({'; '.join(notes)}; full log: {self.path})" if notes else ""
        return "\n".join([head + " ---", *self.lines])


def tail(path: Path, lines: int = TAIL_LINES, max_bytes: int = TAIL_BYTES) -> LogTail | None:
    """The last `lines` lines within the last `max_bytes` bytes of a regular file (symlinks are not followed)."""
    file = open_regular(path)
    if file is None:
        return None
    with file:
        size = os.fstat(file.fileno()).st_size
        start = max(0, size - max_bytes)
        file.seek(start)
        data = file.read(max_bytes)
    text = data.decode("utf-8", errors="replace")
    if start:
        text = text.split("\n", 1)[1] if "\n" in text else text
    kept = text.rstrip("\n").splitlines()[-lines:] if text.strip() else []
    cut = sum(len(line) > LINE_WIDTH for line in kept)
    shown = [line if len(line) <= LINE_WIDTH else line[:LINE_WIDTH] + " [...]" for line in kept]
    dropped = size - len("\n".join(kept).encode("utf-8", errors="replace"))
    return LogTail(path, shown, size, max(0, dropped - 1) if kept else size, cut)


def log_tails(log_dir: Path | None) -> list[LogTail]:
    """The tail of every non-empty log of an agent, in name order, within TOTAL_BYTES altogether."""
    if log_dir is None or not log_dir.is_dir() or log_dir.is_symlink():
        return []
    tails, budget = [], TOTAL_BYTES
    for path in sorted(log_dir.iterdir()):
        found = tail(path, max_bytes=min(TAIL_BYTES, budget))
        if found is None or not found.lines:
            continue
        tails.append(found)
        budget -= sum(len(line) + 1 for line in found.lines)
        if budget <= 0:
            break
    return tails
