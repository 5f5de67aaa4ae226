"""`--spider2-clock`: the date an agent, and every process it starts, sees (through libfaketime).

Several Spider2-DBT golds were built by models that use `current_date`; with the clock frozen at the date the gold
was built, an agent that builds them correctly gets the same values. Only the agent's processes are affected,
never the judge; a score obtained this way is labelled with its clock, because it is not the official protocol's.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

OFF = "off"
LIBRARY = Path("vendor") / "libfaketime" / "src" / "libfaketime.so.1"
# Only the documented form: Python's fromisoformat alone also takes 20240102 or 2024-W01-2.
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ClockError(ValueError):
    """A bad clock setting; the message names the file and line, or the value."""


@dataclass(frozen=True)
class Clock:
    """A date for every instance, or per instance from a file; `source` is what the user gave."""

    default: dt.date | None = None
    per_instance: Mapping[str, dt.date] = field(default_factory=dict)
    source: str = OFF

    def date_for(self, instance_id: str) -> dt.date | None:
        return self.per_instance.get(instance_id, self.default)

    def label_for(self, instance_id: str) -> str:
        day = self.date_for(instance_id)
        return day.isoformat() if day else OFF

    @property
    def label(self) -> str:
        if self.per_instance:
            return f"per instance from {self.source} ({len(self.per_instance)} dates)"
        return self.default.isoformat() if self.default else OFF


def parse_date(text: str) -> dt.date | None:
    """A `YYYY-MM-DD` date, or None when the text is not one."""
    if not DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_clock(value: str, base: Path, known_ids: Iterable[str]) -> Clock:
    """`off`, a `YYYY-MM-DD` date, or a file of `instance_id YYYY-MM-DD` lines (relative to `base`)."""
    value = value.strip()
    if value.lower() == OFF:
        return Clock()
    day = parse_date(value)
    if day is not None:
        library_path()
        return Clock(default=day, source=value)
    if DATE.fullmatch(value):
        raise ClockError(f"--spider2-clock {value!r} is not a valid date")
    path = (base / value).expanduser()
    if not path.is_file():
        raise ClockError(f"--spider2-clock {value!r} is neither 'off', a date YYYY-MM-DD, nor a file of "
                         "'instance_id YYYY-MM-DD' lines")
    dates = read_clock_file(path, set(known_ids))
    library_path()
    return Clock(per_instance=dates, source=str(path))


def read_clock_file(path: Path, known_ids: set[str]) -> dict[str, dt.date]:
    """Lines `instance_id  YYYY-MM-DD`, `#` comments; a bad line, an unknown or a repeated id names its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ClockError(f"cannot read the clock file {path}: {error}") from None
    dates: dict[str, dt.date] = {}
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        day = parse_date(fields[1]) if len(fields) == 2 else None
        if day is None:
            raise ClockError(f"{path}:{number}: expected `instance_id YYYY-MM-DD`, got {line.strip()!r}")
        if fields[0] not in known_ids:
            raise ClockError(f"{path}:{number}: unknown instance id {fields[0]!r} (not an instance of the suite)")
        if fields[0] in lines:
            raise ClockError(f"{path}:{number}: {fields[0]} already has a date on line {lines[fields[0]]}")
        dates[fields[0]], lines[fields[0]] = day, number
    return dates


def library_path() -> Path:
    """libfaketime.so.1 as the PyPI package `libfaketime` ships it (found without importing the package)."""
    spec = importlib.util.find_spec("libfaketime")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        if (Path(folder) / LIBRARY).is_file():
            return Path(folder) / LIBRARY
    raise ClockError("--spider2-clock needs the libfaketime package: pip install libfaketime")


def faketime_environment(day: dt.date, preload: str | None = None) -> dict[str, str]:
    """Variables that make every process see `day` at midnight as its start time (monotonic clocks stay real);
    libfaketime goes first on an LD_PRELOAD the agent already has."""
    return {
        "LD_PRELOAD": ":".join(filter(None, [str(library_path()), preload])),
        "FAKETIME": f"@{day.isoformat()} 00:00:00",
        "DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_NO_CACHE": "1",
    }
