"""The run's state and the flow of one instance through the stages, in plain values (no pytest here).

`start` turns what the user asked for into a checked session; `state` holds the session (settings, results
folders, this run's records) and the steps every run shares; `modes` holds what differs between a run with
agents, judging a submission, and preflight, chosen once.
"""

from __future__ import annotations

from .modes import JUDGE_SUMMARY, JudgeMode, Mode, PreflightMode, RunMode, mode_for
from .start import START_ERRORS, Request, start
from .state import Collected, Settings, Spider2Session, Verdict

__all__ = [
    "JUDGE_SUMMARY",
    "Collected",
    "JudgeMode",
    "Mode",
    "PreflightMode",
    "Request",
    "RunMode",
    "START_ERRORS",
    "Settings",
    "Spider2Session",
    "Verdict",
    "mode_for",
    "start",
]
