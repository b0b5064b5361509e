"""Portfolio import end to end, and document lookup among 1,000,000 customers, each beside a raw
baseline measured in the same run (SQLite, and PostgreSQL when reachable).

    .venv/bin/python bench/bench_portfolio_import.py [--rows 100000] [--customers 1000000]

Import: a generated portfolio (tests/fixtures/portfolios/make_portfolios.py, 2% invalid phones)
is checked, recorded as events and projected into `customers`/`customer_phones` — what a user
waits for — vs a raw bulk INSERT of the same CSV rows into a plain table with no validation.
Lookup: the customers table is filled up to --customers rows (the import above, plus synthetic
rows of other campaigns bulk-inserted as bench setup), then 1,000 documents are looked up with
the query the application uses vs a raw indexed SELECT on the driver's cursor.
Targets: import >= 10,000 rows/s; lookup p99 <= 2 ms.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import available_backends, backend, percentile, rate, report, timed
from sqlalchemy import Column, MetaData, String, Table, insert, text

from projections.admin_queries import customers_with_document
from projections.queries import PORTFOLIOS

GENERATOR = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "portfolios" / "make_portfolios.py"
LOOKUPS = 1000
TARGET_ROWS_PER_SECOND = 10_000
TARGET_P99_MS = 2.0


def generated_portfolio(rows: int) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cartera.csv"
        subprocess.run([sys.executable, str(GENERATOR), "--rows", str(rows), "--out", str(path)], check=True)
        return path.read_bytes()


def app_import(despacho, content: bytes) -> tuple[float, dict[str, int]]:
    campaign_id = despacho.campaigns.register("bench_import", "Bench", "Bench", {}, actor="bench")

    def run() -> None:
        result = despacho.portfolios.import_file(campaign_id, content, "cartera.csv", actor="bench")
        run.counts = result.counts  # type: ignore[attr-defined]
        despacho.runner.catch_up()
    seconds = timed(run)
    return seconds, run.counts  # type: ignore[attr-defined]


def raw_bulk_insert(despacho, content: bytes) -> float:
    """The same rows, parsed by csv.reader and inserted as they are: no validation, no events."""
    metadata = MetaData()
    header = next(csv.reader(io.StringIO(content.decode("utf-8-sig").split("\n", 1)[0])))
    table = Table("bench_raw_customers", metadata, *[Column(f"c{i}", String) for i in range(len(header))])
    metadata.create_all(despacho.read_engine)

    def run() -> None:
        rows = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
        next(rows)
        values = [{f"c{i}": cell for i, cell in enumerate(row)} for row in rows if len(row) == len(header)]
        with despacho.read_engine.begin() as connection:
            connection.execute(insert(table), values)
    seconds = timed(run)
    metadata.drop_all(despacho.read_engine)
    return seconds


def fill_customers(despacho, total: int) -> None:
    """Bench setup: synthetic customers of other campaigns up to `total` rows."""
    customers = PORTFOLIOS.customers
    with despacho.read_engine.connect() as connection:
        existing = connection.execute(text("SELECT count(*) FROM customers")).scalar_one()
    now = despacho.clock.now()
    batch: list[dict[str, object]] = []
    for n in range(total - existing):
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


def lookups(despacho, documents: list[str]) -> tuple[list[float], list[float]]:
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
    return app, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default=None, help="Only this backend.")
    arguments = parser.parse_args()
    content = generated_portfolio(arguments.rows)
    print(f"== portfolio import ({arguments.rows:,} rows, {len(content) / 1e6:.1f} MB) and lookup among "
          f"{arguments.customers:,} customers ==")
    for name in [arguments.backend] if arguments.backend else available_backends():
        with backend(name) as despacho:
            despacho.portfolios.max_bytes = 200 * 1024 * 1024
            raw_seconds = raw_bulk_insert(despacho, content)
            seconds, counts = app_import(despacho, content)
            report(f"[{name}] import end to end (check, events, projection)", rate(arguments.rows, seconds), "rows/s",
                   "raw bulk INSERT", rate(arguments.rows, raw_seconds))
            speed = rate(arguments.rows, seconds)
            print(f"    valid {counts['valid']:,}, invalid {counts['invalid']:,}; {seconds:.2f} s; target "
                  f"{TARGET_ROWS_PER_SECOND:,} rows/s: {'met' if speed >= TARGET_ROWS_PER_SECOND else 'NOT met'}")

            fill_customers(despacho, arguments.customers)
            rng = random.Random(7)
            documents = [str(10_000_000 + rng.randrange(arguments.customers)) for _ in range(LOOKUPS)]
            app, raw = lookups(despacho, documents)
            p99, raw_p99 = percentile(app, 99) * 1000, percentile(raw, 99) * 1000
            print(f"[{name}] document lookup among {arguments.customers:,}: p50 {percentile(app, 50) * 1000:.3f} ms, "
                  f"p99 {p99:.3f} ms; raw indexed SELECT p50 {percentile(raw, 50) * 1000:.3f} ms, "
                  f"p99 {raw_p99:.3f} ms; target p99 <= {TARGET_P99_MS} ms: "
                  f"{'met' if p99 <= TARGET_P99_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
