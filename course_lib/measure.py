"""Wall-time measurements for the lessons' cost experiments."""
from __future__ import annotations

import time
from typing import Callable

import torch


def wall_time(fn: Callable[[], object], repeats: int = 3, warmup: int = 1) -> float:
    """Best-of-``repeats`` seconds for one call of ``fn`` (no gradients recorded)."""
    with torch.no_grad():
        for _ in range(warmup):
            fn()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
    return best
