"""Portfolio import through the worker path, beside a raw executemany of the same rows, in interleaved
rounds (SQLite, and PostgreSQL when reachable); then document lookup among many customers.

    .venv/bin/python bench/bench_portfolio_import.py [--rows 50000] [--rounds 3] [--customers 200000]
    .venv/bin/python bench/bench_portfolio_import.py --rows 1000000 --rounds 2 --customers 1000000   # full figure

Import: a generated portfolio (tests/fixtures/portfolios/make_portfolios.py, 2% invalid phones) is
stored as an upload and queued as a job (setup, untimed); then timed, in a fresh process: the worker's
`import_portfolio` actor (stream the file twice, check every row, save the chunks) and the projection
catch-up that stages and activates them — what a user waits for. Baseline, in a fresh process too: the
same CSV read with csv.reader and inserted by executemany, 5,000 rows a transaction, into a table
shaped like `customers` in the same kind of database; no validation, no events. Each process reports
its peak RSS (`resource.getrusage` maxrss). Rounds alternate which runs first; the ratio is per round.
Targets: >= 25,000 rows/s and <= 300 MB peak at 1,000,000 rows; lookup p99 <= 2 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import available_backends, backend, median, percentile
from sqlalchemy import MetaData, create_engine, insert, text

from despacho.bootstrap import build
from despacho.settings import Settings
from projections.admin_queries import customers_with_document
from projections.portfolios import PortfoliosProjector
from projections.queries import PORTFOLIOS

GENERATOR = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "portfolios" / "make_portfolios.py"
LOOKUPS = 1000
RAW_BATCH = 5000
TARGET_ROWS_PER_SECOND = 25_000
TARGET_PEAK_MB = 300
TARGET_P99_MS = 2.0


def generate_portfolio(rows: int, path: Path) -> None:
    subprocess.run([sys.executable, str(GENERATOR), "--rows", str(rows), "--out", str(path)], check=True,
                   stdout=subprocess.DEVNULL)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kilobytes


def cpu_seconds() -> float:
    """This process's CPU time: on a machine shared with other work, wall time says more about the others."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the measured processes ------------------------------------------------------------------------


def worker_import(file: Path, var_dir: Path, database_url: str | None) -> dict[str, Any]:
    """One import as the worker runs it, then the projection that makes it live."""
    despacho = build(Settings(var_dir=var_dir, database_url=database_url, max_upload_megabytes=500))
    try:
        despacho.runner.create_tables()
        campaign = despacho.campaigns.register("bench_import", "Bench", "Bench", {}, actor="bench")
        upload_id = _stored_upload(despacho, file)
        job_id = despacho.portfolios.queue_import(campaign, upload_id, file.name, actor="bench")
        despacho.runner.catch_up(hand_out_work=False)
        setup_peak = peak_mb()
        started, cpu_started = time.perf_counter(), cpu_seconds()
        despacho.import_portfolio.fn(str(job_id))
        worker_seconds = time.perf_counter() - started
        worker_peak = peak_mb()
        despacho.runner.catch_up(hand_out_work=False)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
        with despacho.read_engine.connect() as connection:
            live = connection.execute(text("SELECT count(*) FROM customers WHERE active")).scalar_one()
        return {"seconds": seconds, "cpu": cpu, "worker_seconds": worker_seconds, "setup_peak_mb": setup_peak,
                "worker_peak_mb": worker_peak, "peak_mb": peak_mb(), "live": live}
    finally:
        despacho.close()


def _stored_upload(despacho: Any, file: Path) -> str:
    """The upload as the preview page leaves it (the preview itself is not the worker's work)."""
    content = file.read_bytes()
    sha = hashlib.sha256(content).hexdigest()
    despacho.files.put(f"portfolio-uploads/{sha}", content, "text/csv")
    return sha


def raw_executemany(file: Path, var_dir: Path, database_url: str | None) -> dict[str, Any]:
    """The same rows as they are, executemany into a customers-shaped table, 5,000 rows a transaction."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://") if database_url
                           else f"sqlite:///{var_dir / 'raw.sqlite'}")
    metadata = MetaData()
    table = PortfoliosProjector("_raw").customers.to_metadata(metadata)
    metadata.create_all(engine)
    now = datetime.now(UTC)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    with file.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        for batch in _batches(reader, RAW_BATCH):
            with engine.begin() as connection:
                connection.execute(insert(table), [{
                    "campaign_id": "raw", "document_type": row[0], "document_number": row[1],
                    "full_name": f"{row[2]} {row[3]}", "phones": [row[4], row[5]], "email": row[6],
                    "balance": row[8], "custom_fields": {"ciudad": row[7], "dias_mora": row[9]}, "active": True,
                    "import_id": "raw", "updated_at": now} for row in batch])
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    engine.dispose()
    return {"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb()}


def _batches(rows: Iterator[list[str]], size: int) -> Iterator[list[list[str]]]:
    batch: list[list[str]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def child(arguments: argparse.Namespace) -> None:
    measure = worker_import if arguments.child == "app" else raw_executemany
    print(json.dumps(measure(Path(arguments.file), Path(arguments.var_dir), arguments.database_url or None)))


# --- the parent: rounds, ratios, lookups -----------------------------------------------------------


@contextlib.contextmanager
def fresh_database(name: str) -> Iterator[tuple[Path, str]]:
    with tempfile.TemporaryDirectory() as var_dir:
        if name == "sqlite":
            yield Path(var_dir), ""
            return
        from tests.services import fresh_postgres_database

        with fresh_postgres_database() as url:
            yield Path(var_dir), url


def measured(kind: str, name: str, file: Path) -> dict[str, Any]:
    with fresh_database(name) as (var_dir, url):
        output = subprocess.run([sys.executable, __file__, "--child", kind, "--file", str(file), "--var-dir",
                                 str(var_dir), "--database-url", url], check=True, capture_output=True, text=True,
                                cwd=Path(__file__).parent)
    return json.loads(output.stdout.strip().splitlines()[-1])


def import_rounds(name: str, file: Path, rows: int, rounds: int) -> None:
    app, raw = [], []
    for number in range(rounds):
        order = ("app", "raw") if number % 2 == 0 else ("raw", "app")
        results = {kind: measured(kind, name, file) for kind in order}
        app.append(results["app"])
        raw.append(results["raw"])
    speeds = [rows / r["seconds"] for r in app]
    raw_speeds = [rows / r["seconds"] for r in raw]
    ratios = sorted(a / b for a, b in zip(speeds, raw_speeds, strict=True))
    speed, peak = median(speeds), max(r["peak_mb"] for r in app)
    print(f"[{name}] worker import + activation: {speed:,.0f} rows/s (median of {rounds}; worker alone "
          f"{median([rows / r['worker_seconds'] for r in app]):,.0f} rows/s); raw executemany "
          f"{median(raw_speeds):,.0f} rows/s; ratio median {median(ratios):.2f}, spread {ratios[0]:.2f}–"
          f"{ratios[-1]:.2f}")
    cpu_ratios = sorted((rows / a["cpu"]) / (rows / b["cpu"]) for a, b in zip(app, raw, strict=True))
    print(f"[{name}] per CPU second of the measured process (PostgreSQL's own work not counted): "
          f"{median([rows / r['cpu'] for r in app]):,.0f} rows vs raw {median([rows / r['cpu'] for r in raw]):,.0f}; "
          f"ratio median {median(cpu_ratios):.2f}, spread {cpu_ratios[0]:.2f}–{cpu_ratios[-1]:.2f}")
    print(f"[{name}] peak RSS: import process {peak:,.0f} MB (worker part {max(r['worker_peak_mb'] for r in app):,.0f}"
          f" MB, before the job {max(r['setup_peak_mb'] for r in app):,.0f} MB), raw process "
          f"{max(r['peak_mb'] for r in raw):,.0f} MB; live customers {app[0]['live']:,}")
    print(f"    target {TARGET_ROWS_PER_SECOND:,} rows/s: {'met' if speed >= TARGET_ROWS_PER_SECOND else 'NOT met'}; "
          f"peak <= {TARGET_PEAK_MB} MB: {'met' if peak <= TARGET_PEAK_MB else 'NOT met'}")


def fill_customers(despacho: Any, total: int) -> None:
    """Bench setup: synthetic customers of other campaigns up to `total` rows."""
    customers = PORTFOLIOS.customers
    now = despacho.clock.now()
    batch: list[dict[str, object]] = []
    for n in range(total):
        batch.append({"campaign_id": f"bench-campaign-{n % 9}", "document_number": str(10_000_000 + n),
                      "document_type": "CC", "full_name": f"Cliente {n}", "phones": [f"+57310{n:07d}"],
                      "email": None, "balance": "1000.00", "custom_fields": {}, "active": True,
                      "import_id": "bench", "updated_at": now})
        if len(batch) == 20_000:
            with despacho.read_engine.begin() as connection:
                connection.execute(insert(customers), batch)
            batch = []
    if batch:
        with despacho.read_engine.begin() as connection:
            connection.execute(insert(customers), batch)


def lookup_figures(name: str, total: int) -> None:
    with backend(name) as despacho:
        despacho.runner.create_tables()
        fill_customers(despacho, total)
        rng = random.Random(7)
        documents = [str(10_000_000 + rng.randrange(total)) for _ in range(LOOKUPS)]
        app, raw = [], []
        for document in documents:
            started = time.perf_counter()
            customers_with_document(despacho.read_engine, document)
            app.append(time.perf_counter() - started)
        raw_connection = despacho.read_engine.raw_connection()
        placeholder = "%s" if despacho.read_engine.dialect.name == "postgresql" else "?"
        cursor = raw_connection.cursor()
        for document in documents:
            started = time.perf_counter()
            cursor.execute("SELECT campaign_id, document_type, full_name FROM customers "
                           f"WHERE document_number = {placeholder} AND active", (document,))
            cursor.fetchall()
            raw.append(time.perf_counter() - started)
        raw_connection.close()
    p99, raw_p99 = percentile(app, 99) * 1000, percentile(raw, 99) * 1000
    print(f"[{name}] document lookup among {total:,}: p50 {percentile(app, 50) * 1000:.3f} ms, p99 {p99:.3f} ms; "
          f"raw indexed SELECT p50 {percentile(raw, 50) * 1000:.3f} ms, p99 {raw_p99:.3f} ms; "
          f"target p99 <= {TARGET_P99_MS} ms: {'met' if p99 <= TARGET_P99_MS else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--customers", type=int, default=200_000, help="Lookup among this many (0: skip).")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default=None, help="Only this backend.")
    parser.add_argument("--child", choices=["app", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments)
        return
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "cartera.csv"
        generate_portfolio(arguments.rows, file)
        print(f"== portfolio import ({arguments.rows:,} rows, {file.stat().st_size / 1e6:.1f} MB, {arguments.rounds} "
              f"interleaved rounds, each run in a fresh process), load average {os.getloadavg()[0]:.1f} ==")
        for name in [arguments.backend] if arguments.backend else available_backends():
            import_rounds(name, file, arguments.rows, arguments.rounds)
            if arguments.customers:
                lookup_figures(name, arguments.customers)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
