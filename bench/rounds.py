"""Latency in interleaved rounds beside a baseline timed in the same rounds: median ratio and its spread."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from common import median, percentile

Rounds = list[tuple[list[float], list[float]]]


def interleaved(rounds: int, samples: int, measured: Callable[[int], float],
                baseline: Callable[[int], float]) -> Rounds:
    """`rounds` rounds of `samples` pairs, the baseline and the measured step taking turns."""
    result: Rounds = []
    for r in range(rounds):
        pairs = [(baseline(r * samples + n), measured(r * samples + n)) for n in range(samples)]
        result.append(([m for _, m in pairs], [b for b, _ in pairs]))
    return result


def stopwatch(step: Callable[[], object]) -> float:
    began = time.perf_counter()
    step()
    return time.perf_counter() - began


def show(label: str, rounds: Rounds, baseline_label: str, target: str = "") -> None:
    measured = [x for m, _ in rounds for x in m]
    base = [x for _, b in rounds for x in b]
    ratios = [median(m) / median(b) for m, b in rounds if median(b) > 0]
    print(f"{label}: p50 {median(measured) * 1000:.2f} ms  p99 {percentile(measured, 99) * 1000:.2f} ms"
          f"{f'  ({target})' if target else ''}\n"
          f"    baseline {baseline_label}: p50 {median(base) * 1000:.2f} ms  p99 {percentile(base, 99) * 1000:.2f} ms;"
          f"  ratio of medians per round {median(ratios):.2f}, spread {min(ratios):.2f}–{max(ratios):.2f}"
          f" over {len(rounds)} rounds of {len(rounds[0][0])}")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"
