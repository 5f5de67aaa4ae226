"""The statistics a sweep's summary states: standard error, Wilson interval, pass@k, exact McNemar test."""

from __future__ import annotations

import math
from collections.abc import Sequence

Z_95 = 1.959963984540054


def mean_and_standard_error(values: Sequence[float]) -> tuple[float, float]:
    """Mean and its standard error (sample standard deviation over the square root of n)."""
    if not values:
        return 0.0, 0.0
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(variance / len(values))


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for a pass rate (95% by default); (0, 1) when there are no trials."""
    if trials == 0:
        return 0.0, 1.0
    rate = successes / trials
    denominator = 1 + z * z / trials
    centre = (rate + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of pass@k from n samples with c passes: 1 - C(n-c, k) / C(n, k)."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def mcnemar_exact(newly_passing: int, newly_failing: int) -> float:
    """Two-sided p-value of the exact McNemar test on the discordant pairs of two paired runs."""
    discordant = newly_passing + newly_failing
    if discordant == 0:
        return 1.0
    tail = sum(math.comb(discordant, i) for i in range(min(newly_passing, newly_failing) + 1))
    return min(1.0, 2 * tail / 2**discordant)
