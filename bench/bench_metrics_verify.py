"""Memory of `metrics verify`'s count of the raw log: the peak of Python allocations while counting the first
quarter, half and whole of a simulated log, beside the same stretch of log held in memory as decoded events (the
baseline: what a verify that kept the log would need at least). Streaming keeps only open chats, undecided
containments, messages that may still fail and the counters, so its peak stays flat while the baseline grows with
the log. `python bench_metrics_verify.py [VAR_DIR]` measures an existing embedded installation's log instead."""

from __future__ import annotations

import gc
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path

from common import timed

from application.metrics_verify import counters_from_log, read_log
from application.store import EventStore
from despacho.bootstrap import build
from despacho.settings import Settings
from despacho.simulation.month import MonthPlan, simulate_month

PLAN = MonthPlan(seed=11, days=2, campaigns=2, agents=4, customers_per_day=60, transcripts=False)
FRACTIONS = (0.25, 0.5, 1.0)


def peak_mb(work: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    kept = work()  # the baseline's list stays alive until measured
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return peak / 2**20


def measure(var_dir: Path) -> None:
    despacho = build(Settings(var_dir=var_dir))
    try:
        store: EventStore = despacho.store
        head = store.recorder.max_notification_id() or 0
        for fraction in FRACTIONS:
            stop = int(head * fraction)
            count = partial(counters_from_log, store, stop=stop)
            seconds = timed(count)
            counting = peak_mb(count)
            baseline = peak_mb(lambda: list(read_log(store, stop=stop)))  # noqa: B023 (called at once)
            print(f"verify's count of {stop:>7,} events: peak {counting:6.1f} MB in {seconds:5.1f} s   "
                  f"baseline, the events held: {baseline:6.1f} MB  ratio {counting / baseline:5.2f}")
    finally:
        despacho.close()


def main() -> int:
    if len(sys.argv) > 1:
        measure(Path(sys.argv[1]))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        simulate_month(PLAN, Settings(var_dir=Path(tmp)))
        measure(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
