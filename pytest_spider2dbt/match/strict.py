"""The strict check: the rows over the graded gold columns are, as a multiset, the rows over their partners.

The official verdict compares columns one by one, each sorted on its own when order is ignored, so a table whose
rows are scrambled passes. The strict score also asks that the rows pair up: the multiset of rows over the graded
gold columns equals the multiset of rows over their partner result columns, values agreeing as the official rule
says (numbers within 0.01, missing with missing); values the rule compares literally (lists, decimals, ...) agree
when their ``repr`` is equal.

Rows equal value for value are paired first. The rest are paired by a maximum bipartite matching when there are
at most :data:`STRICT_MATCHING_LIMIT` of them; beyond that, both sides are ordered by all kinds, then identities,
then numbers, and compared row by row, which can miss a pairing when rows differ only by numbers within 0.01 of
those of other rows (the strict score then fails where a pairing exists).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .compare import agree
from .values import EXOTIC, NUMBER, Column, Signature, signature_at

STRICT_MATCHING_LIMIT = 300


def rows_match(gold_columns: list[Column], result_columns: list[Column]) -> bool:
    """Whether the rows over the gold columns and over their partner result columns are the same multiset."""
    if not gold_columns or gold_columns[0].length == 0:
        return True
    reprs: dict[str, int] = {}
    gold, result = _signatures(gold_columns, reprs), _signatures(result_columns, reprs)
    if _same_rows_exactly(gold, result):
        return True
    gold_rest, result_rest = _rows_without_exact_partner(_row_keys(gold), _row_keys(result))
    if not gold_rest.size:
        return True
    gold = [signature_at(signature, gold_rest) for signature in gold]
    result = [signature_at(signature, result_rest) for signature in result]
    if gold_rest.size <= STRICT_MATCHING_LIMIT:
        return _perfect_pairing_exists(gold, result)
    return all(agree(a, b).all() for a, b in zip(_lexicographic(gold), _lexicographic(result), strict=True))


def _signatures(columns: list[Column], reprs: dict[str, int]) -> list[Signature]:
    """Kinds, numbers and identities per column, the values compared literally identified by their repr."""
    signatures = []
    for column in columns:
        idents = column.idents
        if column.exotic:
            by_repr = [reprs.setdefault(_safe_repr(value), len(reprs)) for value in column.python_values]
            idents = np.where(column.kinds == EXOTIC, np.array(by_repr, dtype=np.int64), idents)
        signatures.append((column.kinds, column.numbers, idents))
    return signatures


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def _value_keys(signature: Signature) -> np.ndarray:
    """Per value the number's bits (-0.0 as 0.0) or the identity: with the kind, equal exactly for equal values."""
    kinds, numbers, idents = signature
    bits = np.where(numbers == 0.0, 0.0, numbers).view(np.int64)
    return np.where(kinds == NUMBER, bits, idents)


def _key_columns(signatures: list[Signature]) -> Iterator[np.ndarray]:
    for signature in signatures:
        yield signature[0].astype(np.int64)
        yield _value_keys(signature)


def _row_keys(signatures: list[Signature]) -> np.ndarray:
    """Two integers per value (kind, then value key), one row per table row."""
    return np.column_stack(list(_key_columns(signatures)))


def _row_hashes(signatures: list[Signature]) -> np.ndarray:
    hashes = np.full(len(signatures[0][0]), 0x9E3779B97F4A7C15, dtype=np.uint64)
    for key in _key_columns(signatures):
        hashes ^= key.astype(np.uint64)
        hashes *= np.uint64(0xBF58476D1CE4E5B9)
        hashes ^= hashes >> np.uint64(31)
    return hashes


def _same_rows_exactly(gold: list[Signature], result: list[Signature]) -> bool:
    """True proves equal multisets of rows: ordered by a row hash, both sides hold the same row at every
    position. False may also mean a hash collision; the caller then checks exactly."""
    gold_order = np.argsort(_row_hashes(gold), kind="stable")
    result_order = np.argsort(_row_hashes(result), kind="stable")
    return all(
        np.array_equal(a[gold_order], b[result_order])
        for a, b in zip(_key_columns(gold), _key_columns(result), strict=True)
    )


def _rows_without_exact_partner(gold_keys: np.ndarray, result_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row positions left on each side once rows with identical keys are paired off."""
    _, groups = np.unique(np.vstack([gold_keys, result_keys]), axis=0, return_inverse=True)
    groups = groups.reshape(-1)
    gold_groups, result_groups = groups[: len(gold_keys)], groups[len(gold_keys) :]
    size = int(groups.max()) + 1
    gold_counts = np.bincount(gold_groups, minlength=size)
    result_counts = np.bincount(result_groups, minlength=size)
    return _surplus(gold_groups, result_counts), _surplus(result_groups, gold_counts)


def _surplus(groups: np.ndarray, partner_counts: np.ndarray) -> np.ndarray:
    """Positions whose rank within their group reaches the number of partners the other side has."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    run_lengths = np.diff(np.r_[starts, len(sorted_groups)])
    ranks = np.arange(len(sorted_groups)) - np.repeat(starts, run_lengths)
    return np.sort(order[ranks >= partner_counts[sorted_groups]])


def _perfect_pairing_exists(gold: list[Signature], result: list[Signature]) -> bool:
    """Every gold row can be given its own agreeing result row (Kuhn's augmenting paths)."""
    size = len(gold[0][0])
    agrees = np.ones((size, size), dtype=bool)
    for gold_signature, result_signature in zip(gold, result, strict=True):
        agrees &= agree(signature_at(gold_signature, (slice(None), None)), signature_at(result_signature, None))
    candidates = [np.flatnonzero(row).tolist() for row in agrees]
    partner_of_result: dict[int, int] = {}

    def assign(gold_row: int, seen: set[int]) -> bool:
        for result_row in candidates[gold_row]:
            if result_row in seen:
                continue
            seen.add(result_row)
            if result_row not in partner_of_result or assign(partner_of_result[result_row], seen):
                partner_of_result[result_row] = gold_row
                return True
        return False

    return all(assign(gold_row, set()) for gold_row in range(size))


def _lexicographic(signatures: list[Signature]) -> list[Signature]:
    """The rows ordered by all kinds, then all identities, then all numbers."""
    priority = [kinds for kinds, _, _ in signatures] + [idents for _, _, idents in signatures]
    priority += [numbers for _, numbers, _ in signatures]
    order = np.lexsort(priority[::-1])
    return [signature_at(signature, order) for signature in signatures]
