"""Whether a result column matches a gold column, decided as :func:`official.vectors_match` decides it, on arrays.

Why :func:`columns_match` equals ``official.vectors_match(gold values, result values, ignore_order)``:

* A column holding an EXOTIC value (see :mod:`values`) is compared by the official functions themselves. Its
  values are sorted once (sorting is deterministic, and the official sorts both columns before anything else, so
  comparing two pre-sorted lists in order is the same call).
* Otherwise every value is a kind, a number and an identity, and :func:`agree` is the per-position rule: values of
  different kinds never agree, two missing ones do, numbers go through CPython's ``math.isclose`` formula, and the
  other kinds agree exactly when their identities are equal. ``ignore_order`` positions come from each column's
  official order (:attr:`values.Column.order`), which reproduces Python's stable sort by the official key.
* Necessary conditions reject most pairs before any sort (:func:`could_match`): matching columns pair their values
  one to one, and paired values have the same kind (so the counts per kind are equal), equal identities (so the
  sorted identities are equal), and numbers within ``max(0.01, 1e-9 * largest)`` of each other (so the numbers
  sorted numerically pair up within that bound too).
* Ignoring order, two columns with the same multiset of values match without sorting (:func:`_identical`) when
  each kind holds a single Python type, every integer is below 2**53 (so a float identifies it), and no two
  distinct values can share a sort key (:func:`ties_impossible`). The sort key is then a function of the value and
  tells distinct values apart, so both sorts yield the same sequence of values, and a value agrees with itself.
  Without the last condition the stable sort can leave two values with equal keys (a timestamp and the text of it,
  ``pd.NA`` and the text ``'<NA>'``) in different orders on each side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import official
from .values import MISSING, NUMBER, TEXT, Column, Signature, signature_at

ABS_TOLERANCE = official.TOLERANCE
REL_TOLERANCE = 1e-9  # math.isclose's default
# A missing value can only share a sort key with a text: 'nan' is a number, None sorts apart, NaT and <NA> are not.
_MISSING_LOOKING_LIKE_TEXT = {"NA", "NaT"}


def isclose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``math.isclose(a, b, abs_tol=0.01)`` per element, with CPython's exact formula."""
    with np.errstate(invalid="ignore", over="ignore"):
        difference = np.abs(b - a)
        close = (
            (difference <= np.abs(REL_TOLERANCE * b))
            | (difference <= np.abs(REL_TOLERANCE * a))
            | (difference <= ABS_TOLERANCE)
        )
        return (a == b) | (close & ~np.isinf(a) & ~np.isinf(b))


def agree(gold: Signature, result: Signature) -> np.ndarray:
    """Per position (numpy broadcasting), whether two values agree by :func:`official.values_agree`."""
    gold_kinds, gold_numbers, gold_idents = gold
    result_kinds, result_numbers, result_idents = result
    same_identity = (gold_kinds < TEXT) | (gold_idents == result_idents)
    by_kind = np.where(gold_kinds == NUMBER, isclose(gold_numbers, result_numbers), same_identity)
    return (gold_kinds == result_kinds) & by_kind


def columns_match(gold: Column, result: Column, ignore_order: bool | None) -> bool:
    """The official verdict on a pair of columns; `ignore_order` None stands for a flag whose truth raises."""
    if ignore_order is None:
        return False
    if gold.exotic or result.exotic:
        values = _literal_values(gold, result, ignore_order)
        return values is not None and official.vectors_match(*values, False)
    if gold.length != result.length or not could_match(gold, result):
        return False
    if ignore_order and _identical(gold, result):
        return True
    signatures = _compared_signatures(gold, result, ignore_order)
    return signatures is not None and bool(agree(*signatures).all())


@dataclass
class Agreement:
    """Which compared positions of two columns agree, for a report."""

    agrees: np.ndarray
    compared: int
    problem: str | None = None
    """Why no position can agree (a sort that raises), or the first error comparing values raised."""


def agreement(gold: Column, result: Column, ignore_order: bool | None, limit: int) -> Agreement:
    """Per position over the shorter column, whether the values agree; value by value at most `limit` positions."""
    size = min(gold.length, result.length)
    if ignore_order is None:
        return Agreement(np.zeros(size, dtype=bool), size, "the ignore_orders entry has no truth value")
    if gold.exotic or result.exotic:
        values = _literal_values(gold, result, bool(ignore_order))
        if values is None:
            return Agreement(np.zeros(size, dtype=bool), size, _SORT_RAISES)
        return _literal_agreement(values[0][: min(size, limit)], values[1][: min(size, limit)])
    signatures = _compared_signatures(gold, result, ignore_order)
    if signatures is None:
        return Agreement(np.zeros(size, dtype=bool), size, _SORT_RAISES)
    gold_part, result_part = (signature_at(signature, slice(size)) for signature in signatures)
    return Agreement(agree(gold_part, result_part), size)


_SORT_RAISES = "the official sort raises on these values (str() of a value fails), so no position is compared"


def _literal_agreement(gold_values: list, result_values: list) -> Agreement:
    agrees, problem = [], None
    for a, b in zip(gold_values, result_values, strict=True):
        try:
            agrees.append(official.values_agree(a, b))
        except Exception as error:
            agrees.append(False)
            problem = problem or f"comparing the values raises {type(error).__name__}: {error}"
    return Agreement(np.array(agrees, dtype=bool), len(agrees), problem)


def _literal_values(gold: Column, result: Column, ignore_order: bool) -> tuple[list, list] | None:
    """Both columns' Python values in compared order, or None when the official sort raises on either."""
    if not ignore_order:
        return gold.python_values, result.python_values
    gold_values, result_values = gold.sorted_python_values, result.sorted_python_values
    if gold_values is None or result_values is None:
        return None
    return gold_values, result_values


def _compared_signatures(gold: Column, result: Column, ignore_order: bool) -> tuple[Signature, Signature] | None:
    if not ignore_order:
        return gold.signature, result.signature
    if gold.sorted_signature is None or result.sorted_signature is None:
        return None
    return gold.sorted_signature, result.sorted_signature


def could_match(gold: Column, result: Column) -> bool:
    """Necessary conditions for a match, checked without the official sort (see the module docstring)."""
    if not np.array_equal(gold.kind_counts, result.kind_counts):
        return False
    if gold.kind_counts[NUMBER] and not _numbers_could_pair(gold, result):
        return False
    if gold.kind_counts[TEXT:].any():
        return bool(np.array_equal(gold.sorted_other_keys, result.sorted_other_keys))
    return True


def _numbers_could_pair(gold: Column, result: Column) -> bool:
    """Numbers that pair up within a tolerance also do when both sides are sorted numerically."""
    bound = max(ABS_TOLERANCE, REL_TOLERANCE * max(gold.finite_bound, result.finite_bound)) * (1 + 1e-9)
    gold_numbers, result_numbers = gold.sorted_numbers, result.sorted_numbers
    with np.errstate(invalid="ignore", over="ignore"):
        ends = np.array([gold_numbers[0], gold_numbers[-1]]), np.array([result_numbers[0], result_numbers[-1]])
        for a, b in (ends, (gold_numbers, result_numbers)):
            if not np.all((a == b) | (np.abs(a - b) <= bound)):
                return False
    return True


def ties_impossible(column: Column) -> bool:
    """No two distinct values of the column can share the official sort key.

    Numbers never tie with anything else (the key's last part), nor with each other when of one Python type; None
    is alone with ``is None``; NaN prints 'nan' but is a number. The strings of each identity kind have their own
    shape ('2020-01-01 00:00:00', '10:00:00', UUIDs, "b'...'", ...), except that a text can spell any of them, and
    a time and a duration can print alike; NaT and <NA> can only tie with a text.
    """
    identity_kinds = [kind for kind in column.tags if kind >= TEXT]
    if len(identity_kinds) > 1:
        return False
    return not (identity_kinds == [TEXT] and column.tags.get(MISSING, set()) & _MISSING_LOOKING_LIKE_TEXT)


def _identical(gold: Column, result: Column) -> bool:
    """Same multiset of values, of the same Python types, without possible sort-key ties: the official sorts
    give the same sequence on both sides. Call only after :func:`could_match`."""
    if gold.uniform_tags is None or gold.uniform_tags != result.uniform_tags:
        return False
    if not (gold.exact and result.exact and ties_impossible(gold)):
        return False
    return bool(np.array_equal(gold.sorted_numbers.view(np.int64), result.sorted_numbers.view(np.int64)))
