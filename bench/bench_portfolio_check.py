"""How fast the portfolio checker reads, normalises and validates a big CSV.

    .venv/bin/python bench/bench_portfolio_check.py [--rows 100000] [--repeat 3]

Generates the file with tests/fixtures/portfolios/make_portfolios.py (2% of its rows have an
invalid phone), then times check_portfolio and, on the same bytes, a raw baseline: decoding and
csv.reader alone. Prints the best of --repeat runs of each, and their ratio, which says more
than rows/s on a machine shared with other work. Target: 60,000 rows/s for the checker, so that
a whole import stays above 10,000 rows/s.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.portfolio_files import read_table  # noqa: E402 - after the path is set
from application.portfolio_check import check_portfolio  # noqa: E402 - after the path is set

GENERATOR = ROOT / "tests" / "fixtures" / "portfolios" / "make_portfolios.py"
TARGET_ROWS_PER_SECOND = 60_000


def generated_portfolio(rows: int) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"cartera_{rows}.csv"
        subprocess.run([sys.executable, str(GENERATOR), "--rows", str(rows), "--out", str(path)], check=True)
        return path.read_bytes()


def best_seconds(work: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = work()
        timings.append(time.perf_counter() - started)
        del result
    return min(timings)


def raw_csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()

    content = generated_portfolio(arguments.rows)
    preview = check_portfolio(content, "bench.csv", read_table=read_table)
    print(f"file: {arguments.rows:,} rows, {len(content) / 1e6:.1f} MB; "
          f"valid {preview.valid_count:,}, invalid {preview.invalid_count:,}, "
          f"with warnings {preview.warning_rows:,}")
    del preview

    baseline = best_seconds(lambda: raw_csv_rows(content), arguments.repeat)
    checker = best_seconds(lambda: check_portfolio(content, "bench.csv", read_table=read_table), arguments.repeat)
    print(f"raw csv.reader baseline: {arguments.rows / baseline:>10,.0f} rows/s ({baseline:.3f} s)")
    print(f"check_portfolio:         {arguments.rows / checker:>10,.0f} rows/s ({checker:.3f} s)")
    verdict = "met" if arguments.rows / checker >= TARGET_ROWS_PER_SECOND else "NOT met"
    print(f"checker / baseline: {baseline / checker:.2f} of the raw parsing speed; "
          f"target {TARGET_ROWS_PER_SECOND:,} rows/s: {verdict}")


if __name__ == "__main__":
    main()
