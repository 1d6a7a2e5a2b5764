"""Timing helpers and the BENCH line format (DESIGN.md).

    BENCH <name> <value> <unit> ratio=<r> baseline=<baseline-name>

Every figure is measured beside a baseline in the same run, so a noisy shared machine moves both.
Measurements interleave project and baseline rounds and keep the best round of each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BenchResult:
    """One BENCH line. `ratio` is project/baseline unless the benchmark says otherwise."""

    name: str
    value: float
    unit: str
    ratio: float
    baseline: str
    target: str = ""
    extra: str = ""

    def line(self) -> str:
        text = (
            f"BENCH {self.name} {self.value:.6g} {self.unit} "
            f"ratio={self.ratio:.3f} baseline={self.baseline}"
        )
        return text + (f" {self.extra}" if self.extra else "")


def ops_per_second(operation: Callable[[], object], min_seconds: float = 0.2) -> float:
    """Calls per second of `operation` over at least `min_seconds`, batched (timer cost out)."""
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            operation()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return batch / elapsed
        batch = batch * 2 if elapsed < min_seconds / 8 else int(batch * min_seconds / elapsed) + 1


def compare_rates(
    project: Callable[[], object],
    baseline: Callable[[], object],
    rounds: int = 5,
    min_seconds: float = 0.2,
) -> tuple[float, float]:
    """Best-of-`rounds` ops/s for project and baseline, measured alternately."""
    best_project = best_baseline = 0.0
    for _ in range(rounds):
        best_project = max(best_project, ops_per_second(project, min_seconds))
        best_baseline = max(best_baseline, ops_per_second(baseline, min_seconds))
    return best_project, best_baseline
