"""How the official rule sees values: each one reduced to a kind, a number and an identity, a column to arrays.

:func:`official.values_agree` only ever asks of a value whether it is missing (``pd.isna``), whether it is an
``int``/``float`` (then ``float(value)``), and ``!=``; the sort asks ``is None``, ``str`` and the number test.
:func:`describe` answers those questions once per value, without raising where ``==`` and ``str()`` do not:

* MISSING: ``None``, NaN, ``pd.NA``, ``pd.NaT`` (any two agree);
* NUMBER: ``int``, ``bool`` and non-NaN ``float``, kept as ``float(value)``;
* TEXT, NAIVE_TIME, AWARE_TIME, DATE, CLOCK, DURATION, UUID, BYTES: values whose ``!=`` is equality of value,
  given an identity that is equal exactly for equal values (texts through a shared dictionary, timestamps as
  microseconds, the rest through a dictionary of the values themselves);
* EXOTIC: everything else (lists, dicts, decimals, ints past float range, timestamps outside years 1-9999 or with
  nanoseconds, ...). A column holding one is compared by the official functions themselves, value by value.

Values of two different kinds never agree: for every pair of kinds but EXOTIC, ``!=`` is True or raises, and
``float()`` of a missing value or ``isclose`` with NaN is False. The tag of a value is its Python type (and time
zone), which decides its ``str`` together with its identity.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from . import official

MISSING, NUMBER, TEXT, NAIVE_TIME, AWARE_TIME, DATE, CLOCK, DURATION, UUID_KIND, BYTES_KIND, EXOTIC = range(11)
KIND_COUNT = 11
# Integers whose float is below this are the only ones a float identifies; str() tells larger ones apart.
EXACT_INTEGER_BOUND = 2.0**53

_EPOCH = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)

Signature = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Kinds, numbers and identities of a column (or of a column's values in some order)."""


def signature_at(signature: Signature, index: Any) -> Signature:
    """The same numpy index (positions, a slice, a new axis) applied to all three arrays."""
    kinds, numbers, idents = signature
    return kinds[index], numbers[index], idents[index]


class Ids:
    """Identities shared by the columns of one table, so that equal values get equal identities."""

    def __init__(self) -> None:
        self.texts: dict[str, int] = {}
        self.objects: dict[tuple[int, Any], int] = {}

    def text(self, value: str) -> int:
        return self.texts.setdefault(value, len(self.texts))

    def texts_of(self, values: list[str]) -> np.ndarray:
        setdefault, texts = self.texts.setdefault, self.texts
        return np.fromiter((setdefault(value, len(texts)) for value in values), np.int64, len(values))

    def other(self, kind: int, value: Any) -> int:
        return self.objects.setdefault((kind, value), len(self.objects))


ValueDescription = tuple[int, float, int, str]
"""Kind, number, identity and type tag of one value."""
# The types describe() can give another kind than EXOTIC; a column holding any other type is compared literally.
DESCRIBED_TYPES = frozenset(
    {type(None), float, int, bool, str, type(pd.NA), type(pd.NaT), pd.Timestamp, dt.datetime, dt.date, dt.time,
     dt.timedelta, pd.Timedelta, uuid.UUID, bytes, bytearray}
)


def describe(value: Any, ids: Ids) -> ValueDescription:
    """What the official rule sees of one value; EXOTIC for anything it cannot vouch for, never an exception."""
    try:
        return _describe(value, ids)
    except Exception:
        return EXOTIC, 0.0, 0, type(value).__name__


def _describe(value: Any, ids: Ids) -> ValueDescription:
    value_type = type(value)
    if value is None:
        return MISSING, 0.0, 0, "None"
    if value_type is float:
        return (MISSING, 0.0, 0, "nan") if value != value else (NUMBER, value, 0, "float")
    if value_type is int or value_type is bool:
        return NUMBER, float(value), 0, value_type.__name__
    if value_type is str:
        return TEXT, 0.0, ids.text(value), "str"
    if value is pd.NA:
        return MISSING, 0.0, 0, "NA"
    if value is pd.NaT:
        return MISSING, 0.0, 0, "NaT"
    if value_type is pd.Timestamp or value_type is dt.datetime:
        return _describe_timestamp(value, value_type.__name__)
    return _describe_plain(value, value_type, ids)


def _describe_timestamp(value: Any, tag: str) -> ValueDescription:
    """Naive timestamps agree by wall time, pandas' aware ones by instant; both become microseconds."""
    if getattr(value, "nanosecond", 0) or not 1 <= value.year <= 9999:
        return EXOTIC, 0.0, 0, tag
    wall = dt.datetime(value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond)
    if value.tzinfo is None:
        return NAIVE_TIME, 0.0, (wall - _EPOCH) // _MICROSECOND, tag
    offset = value.utcoffset()
    if tag != "Timestamp" or offset is None:
        return EXOTIC, 0.0, 0, tag
    return AWARE_TIME, 0.0, (wall - offset - _EPOCH) // _MICROSECOND, f"Timestamp:{value.tz}"


def _describe_plain(value: Any, value_type: type, ids: Ids) -> ValueDescription:
    if value_type is dt.date:
        return DATE, 0.0, ids.other(DATE, value), "date"
    if value_type is dt.time and value.tzinfo is None:
        return CLOCK, 0.0, ids.other(CLOCK, value), "time"
    if value_type is dt.timedelta or (value_type is pd.Timedelta and not value.nanoseconds):
        return DURATION, 0.0, ids.other(DURATION, value // _MICROSECOND), value_type.__name__
    if value_type is uuid.UUID:
        return UUID_KIND, 0.0, ids.other(UUID_KIND, value), "UUID"
    if value_type is bytes or value_type is bytearray:
        return BYTES_KIND, 0.0, ids.other(BYTES_KIND, bytes(value)), value_type.__name__
    return EXOTIC, 0.0, 0, value_type.__name__


Description = tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, set[str]]]
"""Kinds, numbers, identities and type tags (per kind) of a column's values."""


@dataclass(eq=False)
class Column:
    """One column as the official comparison sees it, with the views the comparisons need, computed on demand."""

    describe_all: Callable[[], Description] = field(repr=False)
    values_at: Callable[[np.ndarray], list[Any]] = field(repr=False)
    """The Python values at these rows, exactly as the official rule gets them."""
    sort_order: Callable[[], np.ndarray | None] = field(repr=False)
    """Row positions in the official sort order, or None when that sort raises."""
    length: int
    known_exotic: bool = False
    """Some value is of a type only the official functions compare (known without describing every value)."""

    @cached_property
    def _description(self) -> Description:
        return self.describe_all()

    @property
    def kinds(self) -> np.ndarray:
        return self._description[0]

    @property
    def numbers(self) -> np.ndarray:
        return self._description[1]

    @property
    def idents(self) -> np.ndarray:
        return self._description[2]

    @property
    def tags(self) -> dict[int, set[str]]:
        return self._description[3]

    @cached_property
    def exotic(self) -> bool:
        return self.known_exotic or EXOTIC in self.tags

    @cached_property
    def exact(self) -> bool:
        """Every number is a float, a bool, or an int that its float identifies."""
        if "int" not in self.tags.get(NUMBER, ()):
            return True
        return bool(np.all(np.abs(self.numbers[self.kinds == NUMBER]) < EXACT_INTEGER_BOUND))

    @cached_property
    def order(self) -> np.ndarray | None:
        return self.sort_order()

    @cached_property
    def sorted_signature(self) -> Signature | None:
        order = self.order
        if order is None:
            return None
        return _take(self.kinds, order), _take(self.numbers, order), _take(self.idents, order)

    @property
    def signature(self) -> Signature:
        return self.kinds, self.numbers, self.idents

    @cached_property
    def python_values(self) -> list[Any]:
        return self.values_at(np.arange(self.length))

    @cached_property
    def sorted_python_values(self) -> list[Any] | None:
        """The values as the official sort leaves them, or None when that sort raises."""
        try:
            return sorted(self.python_values, key=official.sort_key)
        except Exception:
            return None

    @cached_property
    def kind_counts(self) -> np.ndarray:
        return np.bincount(self.kinds, minlength=KIND_COUNT)

    @cached_property
    def sorted_numbers(self) -> np.ndarray:
        return np.sort(self.numbers[self.kinds == NUMBER])

    @cached_property
    def finite_bound(self) -> float:
        finite = np.abs(self.sorted_numbers[np.isfinite(self.sorted_numbers)])
        return float(finite.max()) if finite.size else 0.0

    @cached_property
    def sorted_other_keys(self) -> np.ndarray:
        """Kind and identity of each value of the identity kinds in one integer (injective for our ranges), sorted."""
        others = self.kinds >= TEXT
        keys = self.idents[others].astype(np.uint64) * np.uint64(16) + self.kinds[others].astype(np.uint64)
        keys.sort()
        return keys

    @cached_property
    def uniform_tags(self) -> frozenset[str] | None:
        """The Python types of the values when each kind has a single one (str is then a function of the
        identity or number), else None."""
        if any(len(tags) != 1 for tags in self.tags.values()):
            return None
        return frozenset(f"{kind}:{next(iter(tags))}" for kind, tags in self.tags.items())

    def row_at(self, position: int, ignore_order: bool) -> int:
        """The table row of a compared position (after the official sort when ignoring order)."""
        if ignore_order and self.order is not None:
            return int(self.order[position])
        return position


def _take(array: np.ndarray, order: np.ndarray) -> np.ndarray:
    """array[order], without materialising constant arrays."""
    return array if array.strides[0] == 0 else array[order]


def constant(size: int, value: Any, dtype: Any) -> np.ndarray:
    """A read-only array of one value that takes no memory (a broadcast view)."""
    return np.broadcast_to(np.array(value, dtype=dtype), (size,))


def described_column(values: list[Any], ids: Ids) -> Column:
    """A column from the exact Python values the official rule gets, each described on its own (lazily when a
    value's type alone shows that the column is compared by the official functions)."""

    def describe_all() -> Description:
        kinds = np.empty(len(values), dtype=np.int8)
        numbers = np.empty(len(values), dtype=np.float64)
        idents = np.empty(len(values), dtype=np.int64)
        tags: dict[int, set[str]] = {}
        for row, value in enumerate(values):
            kind, numbers[row], idents[row], tag = describe(value, ids)
            kinds[row] = kind
            tags.setdefault(kind, set()).add(tag)
        return kinds, numbers, idents, tags

    def order() -> np.ndarray | None:
        try:
            return np.array(sorted(range(len(values)), key=lambda i: official.sort_key(values[i])), dtype=np.intp)
        except Exception:
            return None

    known_exotic = not set(map(type, values)) <= DESCRIBED_TYPES
    return Column(describe_all, lambda rows: [values[row] for row in rows], order, len(values), known_exotic)


def official_order(
    strings: np.ndarray | list[str], is_none: np.ndarray | None = None, is_number: np.ndarray | None = None
) -> np.ndarray:
    """Positions in the order of the official key (is None, str, is number), given each value's parts.

    Three stable sorts, from the last key to the first, leave equal keys in their input order, as Python's sort
    does. ``strings`` is a numpy unicode array only when no value holds a NUL character (numpy ignores trailing
    NULs); otherwise a list, sorted by Python itself.
    """
    order = np.arange(len(strings))
    if is_number is not None and is_number.any() and not is_number.all():
        order = np.argsort(is_number, kind="stable")
    if isinstance(strings, np.ndarray):
        order = order[np.argsort(strings[order], kind="stable")]
    else:
        order = np.array(sorted(order.tolist(), key=strings.__getitem__), dtype=np.intp)
    if is_none is not None and is_none.any() and not is_none.all():
        order = order[np.argsort(is_none[order], kind="stable")]
    return order


def string_array(strings: list[str]) -> np.ndarray | list[str]:
    """Strings as a numpy unicode array for sorting, or the list itself when one holds a NUL character."""
    if any("\x00" in text for text in strings):
        return strings
    return np.array(strings, dtype=str) if strings else np.array([], dtype="<U1")
