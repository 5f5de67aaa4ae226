"""The plugin's settings: one description per option, read from the command line, then the environment, then ini."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .agents.spec import DEFAULT_MODEL


class OptionError(ValueError):
    """A setting has a bad value; the message names where the value came from."""


@dataclass(frozen=True)
class Option:
    name: str
    help: str
    env: str | None = None
    default: Any = None
    convert: Callable[[str], Any] = str
    flag: bool = False
    repeat: bool = False

    @property
    def cli(self) -> str:
        return "--spider2-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "spider2_" + self.name


def positive(parse: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    """A converter that parses a value and accepts it only above zero; `what` names what it must be."""

    def convert(text: str) -> Any:
        value = parse(text)
        if not value > 0:
            raise ValueError(f"must be {what}")
        return value

    return convert


positive_seconds = positive(float, "a positive number of seconds")
positive_int = positive(int, "a whole number of at least 1")
positive_dollars = positive(float, "a positive amount of US dollars")
positive_megabytes = positive(int, "a whole number of megabytes, at least 1")


def sandbox_mode(text: str) -> str:
    mode = text.strip().lower()
    if mode not in ("auto", "bwrap", "none"):
        raise ValueError("must be auto, bwrap or none")
    return mode


def true_or_false(text: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be true or false")


OPTIONS = (
    Option(
        "root",
        "Spider2 checkout (or its spider2-dbt/ folder) whose instances to run as tests.",
        env="SPIDER2_ROOT",
    ),
    Option("demo", "Run the embedded demo suite (built with dbt on first use; no download).", flag=True,
           convert=true_or_false, default=False),
    Option(
        "agent",
        "Agent to run in each workspace: noop, dbt, gold, reference, claude-code, 'cmd:<template>' or "
        "'python:<module>:<function>' (default: noop).",
        env="SPIDER2_AGENT",
        default="noop",
    ),
    Option(
        "timeout",
        "Seconds an agent may run for one instance before its process group is killed (default: 1800).",
        env="SPIDER2_TIMEOUT",
        default=1800.0,
        convert=positive_seconds,
    ),
    Option(
        "results",
        "Judge this existing submission folder (results_metadata.jsonl + <id>/<file>) instead of running an agent.",
        env="SPIDER2_RESULTS",
    ),
    Option(
        "strict",
        "Judge whole rows, not each column sorted on its own (the official verdict is still reported).",
        flag=True,
        convert=true_or_false,
        default=False,
    ),
    Option(
        "check",
        "Preflight: run no agent; report per instance whether the example, start and gold databases are in "
        "place, whether dbt deps needs the network, and whether the start database already passes.",
        flag=True,
        convert=true_or_false,
        default=False,
    ),
    Option(
        "rounds",
        "Run every instance this many times, each as its own test in its own workspace (default: 1).",
        env="SPIDER2_ROUNDS",
        default=1,
        convert=positive_int,
    ),
    Option(
        "reuse",
        "Skip the agent for an instance whose result already sits in the results folder, and judge it again.",
        flag=True,
        convert=true_or_false,
        default=False,
    ),
    Option(
        "xfail",
        "File of instances expected to fail: lines `instance_id  reason`, # comments.",
        env="SPIDER2_XFAIL",
    ),
    Option(
        "no_known_issues",
        "Do not mark the shipped registry of known upstream defects as xfail/skip.",
        flag=True,
        convert=true_or_false,
        default=False,
    ),
    Option(
        "model",
        f"Model for the claude-code agent (default: {DEFAULT_MODEL}).",
        env="SPIDER2_MODEL",
        default=DEFAULT_MODEL,
    ),
    Option(
        "budget",
        "Spending cap in US dollars per instance for the claude-code agent (--max-budget-usd).",
        env="SPIDER2_BUDGET",
        convert=positive_dollars,
    ),
    Option(
        "sandbox",
        "Where agents run: bwrap (bubblewrap: they see only their workspace), none (as this user, seeing every "
        "file), or auto (bwrap when it works, else none; the summary says which) (default: auto).",
        env="SPIDER2_SANDBOX",
        default="auto",
        convert=sandbox_mode,
    ),
    Option(
        "sandbox_bind",
        "Extra path an agent needs inside the sandbox, SRC[:DEST][:ro] (e.g. ~/.claude:ro); repeatable.",
        env="SPIDER2_SANDBOX_BIND",
        repeat=True,
    ),
    Option(
        "max_result_mb",
        "Largest result database collected, in MB; a larger one scores 0 as result_refused (default: 4096).",
        env="SPIDER2_MAX_RESULT_MB",
        default=4096,
        convert=positive_megabytes,
    ),
    Option(
        "judge_timeout",
        "Seconds the judge may spend reading one instance's tables before it stops with judge_timeout (default: 300).",
        env="SPIDER2_JUDGE_TIMEOUT",
        default=300.0,
        convert=positive_seconds,
    ),
    Option(
        "judge_memory_mb",
        "Memory DuckDB may use while the judge reads tables, in MB; beyond it: judge_out_of_memory (default: 4096).",
        env="SPIDER2_JUDGE_MEMORY_MB",
        default=4096,
        convert=positive_megabytes,
    ),
    Option(
        "baseline",
        "An earlier run (its summary.json, or its results folder) to compare with: flips and an exact McNemar test.",
        env="SPIDER2_BASELINE",
    ),
    Option(
        "clock",
        "Date agents see (through libfaketime): off (the official protocol), YYYY-MM-DD for every instance, or a "
        "file of 'instance_id YYYY-MM-DD' lines. The judge is not affected (default: off).",
        env="SPIDER2_CLOCK",
        default="off",
    ),
    Option(
        "out",
        "Results folder in the official submission layout, plus logs/ and summary.json (default: spider2-results).",
        env="SPIDER2_OUT",
        default="spider2-results",
    ),
)


def resolve(option: Option, cli_value: Any, environ: Mapping[str, str], ini_value: Any) -> Any:
    """The option's value: command line first, then its environment variable, then the ini file, then default."""
    candidates = [
        (cli_value, f"{option.cli} on the command line"),
        (environ.get(option.env) if option.env else None, f"environment variable {option.env}"),
        (ini_value, f"ini option {option.ini}"),
    ]
    for value, source in candidates:
        if value in (None, "", False, []):
            continue
        if option.repeat:
            return tuple(value if isinstance(value, list) else str(value).split())
        if isinstance(value, list):
            value = " ".join(value)
        try:
            return option.convert(value) if isinstance(value, str) else value
        except ValueError as error:
            raise OptionError(f"{source}: {value!r} is not valid: {error}") from None
    return () if option.repeat else option.default


def resolve_path(value: str | None, base: Path) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path
