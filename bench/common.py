"""Shared helpers for benchmarks: timing, a fresh Despacho per backend, printing ratios."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from despacho.bootstrap import Despacho, build
from despacho.settings import Settings


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def report(label: str, value: float, unit: str, baseline_label: str, baseline: float) -> None:
    ratio = value / baseline if baseline else float("nan")
    print(f"{label:<58} {value:>12,.0f} {unit:<10} baseline {baseline_label}: {baseline:>12,.0f}  ratio {ratio:5.2f}")


@contextmanager
def backend(name: str) -> Iterator[Despacho]:
    """A fresh Despacho on SQLite (temp dir) or on a fresh PostgreSQL database."""
    with tempfile.TemporaryDirectory() as tmp:
        if name == "sqlite":
            despacho = build(Settings(var_dir=Path(tmp)))
            try:
                yield despacho
            finally:
                despacho.close()
            return
        from tests.services import fresh_postgres_database

        with fresh_postgres_database() as url:
            despacho = build(Settings(var_dir=Path(tmp), database_url=url))
            try:
                yield despacho
            finally:
                despacho.close()


def available_backends() -> list[str]:
    try:
        import psycopg

        psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", connect_timeout=2).close()
        return ["sqlite", "postgres"]
    except Exception:
        print("PostgreSQL not reachable on 127.0.0.1:5432: PostgreSQL figures skipped")
        return ["sqlite"]


def interleaved(rounds: int, measures: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Run every measure once per round, in turn, `rounds` times: a slow moment of a shared machine then falls
    on both sides of a comparison instead of on one."""
    results: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(rounds):
        for name, measure in measures.items():
            results[name].append(measure())
    return results


def report_rounds(label: str, values: list[float], unit: str, baseline_label: str, baselines: list[float]) -> None:
    """The medians side by side, and the median and spread of the per-round ratios."""
    ratios = [value / baseline for value, baseline in zip(values, baselines, strict=True) if baseline]
    print(f"{label:<48} {median(values):>10,.0f} {unit:<9} {baseline_label}: {median(baselines):>10,.0f}  "
          f"ratio median {median(ratios):.2f}  spread {min(ratios):.2f}–{max(ratios):.2f}  ({len(ratios)} rounds)")
