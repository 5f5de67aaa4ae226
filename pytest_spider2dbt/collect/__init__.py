"""Stage 4: find the database the agent built, settle its WAL and file it in the official submission layout.

`result` decides what in a workspace may be collected; `folder` opens the results folder without following
anything planted in it; `submission` keeps `results_metadata.jsonl` and `<id>/<file>` truthful.
"""

from __future__ import annotations

from .folder import FolderError, ResultsFolder, plain_name, sha256_of
from .result import DEFAULT_MAX_RESULT_MB, Refused, locate_result, profile_target, target_db_path
from .submission import (
    METADATA,
    FiledResult,
    StagedResult,
    Submission,
    SubmissionError,
    commit_result,
    discard_staged,
    filed_result,
    forget_result,
    read_metadata,
    read_submission,
    stage_result,
)

__all__ = [
    "DEFAULT_MAX_RESULT_MB",
    "METADATA",
    "FiledResult",
    "StagedResult",
    "FolderError",
    "Refused",
    "ResultsFolder",
    "Submission",
    "SubmissionError",
    "commit_result",
    "discard_staged",
    "filed_result",
    "forget_result",
    "locate_result",
    "plain_name",
    "profile_target",
    "read_metadata",
    "read_submission",
    "sha256_of",
    "stage_result",
    "target_db_path",
]
