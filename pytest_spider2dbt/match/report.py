"""The judge's findings as plain data: MatchReport > TableReport > ColumnReport, JSON-safe both ways.

Renderers (text in :mod:`render`, HTML elsewhere) read only these objects, so they carry everything a reader
needs: per graded table its row counts and ignore-order flag, the result's table listing and same-named tables in
other schemas; per graded gold column its matched result column, or its closest candidate and why, how many
positions agree, and sample differing values with their positions (and whether those are after each column was
sorted on its own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from pytest_spider2dbt.categories import Category

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

SAMPLE_SIZE = 5
"""Differing values kept per failing column."""
MAX_FAILING_COLUMNS_SHOWN = 10
"""Failing columns a rendering details per table."""
MAX_TABLES_LISTED = 20
"""Result tables named in a message about a missing table."""
MAX_POSITIONS_COMPARED_LITERALLY = 1_000
"""Positions compared value by value when explaining a column that is compared literally (lists, ...)."""


class TableStatus(StrEnum):
    """How one graded table fared."""

    PASSED = "passed"
    MISSING = "missing"
    UNREADABLE = "unreadable"
    REFUSED = "refused"
    GOLD_UNREADABLE = "gold_unreadable"
    ROW_COUNT_MISMATCH = "row_count_mismatch"
    VALUE_MISMATCH = "value_mismatch"


class CandidateReason(StrEnum):
    """Why a result column is shown beside a gold column that has no match."""

    SAME_NAME = "same name"
    CLOSEST = "closest"


@dataclass(frozen=True)
class Sample:
    """A compared position where the values differ, and the two values as text."""

    position: int
    gold: str
    result: str


@dataclass
class ColumnReport:
    """How one graded gold column fared.

    ``index`` is the column's entry in ``condition_cols`` (or its position when all columns are graded).
    ``positions_sorted`` says the sample positions count after each column was sorted on its own (ignore order);
    otherwise they are row numbers. ``compared`` can be below the row count for columns compared value by value.
    """

    index: int
    name: str
    matched: bool
    result_column: str | None = None
    result_index: int | None = None
    candidate: str | None = None
    candidate_index: int | None = None
    candidate_reason: CandidateReason | None = None
    agreeing: int | None = None
    compared: int | None = None
    positions_sorted: bool = False
    samples: list[Sample] = field(default_factory=list)
    problem: str | None = None
    strict_partner: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnReport:
        return _rebuilt(
            cls,
            data,
            samples=lambda samples: [Sample(**sample) for sample in samples],
            candidate_reason=lambda reason: None if reason is None else CandidateReason(reason),
        )


@dataclass
class TableReport:
    """How one graded table fared; ``message`` is one line."""

    name: str
    status: TableStatus
    ignore_order: bool | None = None
    gold_rows: int | None = None
    result_rows: int | None = None
    columns: list[ColumnReport] = field(default_factory=list)
    strict_passed: bool | None = None
    strict_note: str = ""
    message: str = ""
    result_tables: list[str] = field(default_factory=list)
    found_elsewhere: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == TableStatus.PASSED

    @property
    def failing_columns(self) -> list[ColumnReport]:
        return [column for column in self.columns if not column.matched]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableReport:
        return _rebuilt(
            cls, data, status=TableStatus, columns=lambda columns: [ColumnReport.from_dict(c) for c in columns]
        )


@dataclass
class MatchReport:
    """The official verdict (``score``), the strict one, the category and one-line message, and the details."""

    score: int
    strict_score: int
    category: Category
    message: str
    tables: list[TableReport] = field(default_factory=list)
    instance_id: str | None = None
    result_path: str | None = None
    gold_path: str | None = None

    def __bool__(self) -> bool:
        return self.score == 1

    def __str__(self) -> str:
        return self.render()

    def render(self, color: bool = False) -> str:
        """The report as text: the verdict on the first line, the details, and what to do next."""
        from .render import render

        return render(self, color=color)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe data; :meth:`from_dict` rebuilds an equal report from it."""
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchReport:
        return _rebuilt(cls, data, category=Category, tables=lambda tables: [TableReport.from_dict(t) for t in tables])


_Report = TypeVar("_Report", bound="DataclassInstance")


def _rebuilt(cls: type[_Report], data: dict[str, Any], **converters: Callable[[Any], Any]) -> _Report:
    """An instance of `cls` from the fields `data` holds (others ignored), some converted from their JSON form."""
    names = {item.name for item in fields(cls)}
    values = {name: value for name, value in data.items() if name in names}
    for name, convert in converters.items():
        if name in values:
            values[name] = convert(values[name])
    return cls(**values)


def _plain(value: Any) -> Any:
    """StrEnums as their strings, tuples as lists: what json.dumps writes and json.loads reads back."""
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
