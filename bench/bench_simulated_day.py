"""One simulated day (3 campaigns, 8 agents, 150 customers, no PDFs: what CI runs before `metrics verify`)
through the real application, against a baseline measured in the same run: rebuilding every read model from
the log that day left. The ratio is what driving the day costs (webhooks, use cases, followers, jobs, timers)
on top of projecting its events once."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from common import timed

from despacho.bootstrap import all_projectors, build
from despacho.settings import Settings
from despacho.simulation.month import MonthPlan, simulate_month
from projections.rebuild import rebuild

PLAN = MonthPlan(seed=7, days=1, campaigns=3, agents=8, customers_per_day=150, transcripts=False)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp))
        cpu = time.process_time()
        summary: dict[str, object] = {}
        wall = timed(lambda: summary.update(simulate_month(PLAN, settings)))
        cpu = time.process_time() - cpu
        despacho = build(settings)
        try:
            events = despacho.runner.head()
            projectors = {type(p) for p in all_projectors()}
            baseline = timed(lambda: [rebuild(despacho.store, despacho.read_engine, p, replace_live=False)
                                      for p in projectors])
        finally:
            despacho.close()
    chats = summary["chats"]["total"]  # type: ignore[index]
    print(f"simulated day: {chats} chats, {events} events in {wall:.1f} s ({cpu:.1f} s of CPU), "
          f"{events / wall:,.0f} events/s")
    print(f"baseline, rebuilding every read model from that log: {baseline:.1f} s  ratio {wall / baseline:5.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
