"""The bot's own customer lookup (SqlBotWorld.campaigns_for_customer: which campaigns hold this document)
among 1,000,000 customers (100,000 without --full), hits and misses, beside a primary-key SELECT of one
customer on the same table and engine, in interleaved rounds. Target: p99 ≤ 2 ms on PostgreSQL.

The customers are written to the read table by one SQL statement (the lookup only reads it).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from common import available_backends, backend
from rounds import interleaved, load_average, show, stopwatch
from sqlalchemy import JSON, Boolean, bindparam, select, text

from domain.documents import CustomerIdentity
from projections.bot_world import SqlBotWorld
from projections.queries import PORTFOLIOS
from projections.sql import UtcDateTime

CAMPAIGNS = 10
FIRST_DOCUMENT = 10_000_000


def seed_customers(despacho, count: int) -> list[str]:
    campaigns = [str(despacho.campaigns.register(f"camp{c:02d}", f"Campaña {c}", f"Campaña {c}", {}, actor="bench"))
                 for c in range(CAMPAIGNS)]
    despacho.runner.catch_up()  # the lookup joins the campaigns' read table
    values = ", ".join(f"({k}, :campaign{k})" for k in range(CAMPAIGNS))
    statement = text(
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count), "
        f"campaign(k, id) AS (VALUES {values}) "
        f"INSERT INTO {PORTFOLIOS.customers.name} (campaign_id, document_type, document_number, full_name, phones,"
        " email, balance, custom_fields, active, import_id, updated_at) "
        f"SELECT campaign.id, 'CC', '' || ({FIRST_DOCUMENT} + n.i), 'Cliente ' || n.i, :phones, NULL, '0',"
        f" :fields, :yes, 'bench', :at FROM n JOIN campaign ON campaign.k = n.i % {CAMPAIGNS}"
    ).bindparams(bindparam("phones", type_=JSON), bindparam("fields", type_=JSON), bindparam("yes", type_=Boolean),
                 bindparam("at", type_=UtcDateTime))
    with despacho.read_engine.begin() as connection:
        connection.execute(statement, {"count": count, "phones": [], "fields": {}, "yes": True,
                                       "at": despacho.clock.now(), **{f"campaign{k}": c for k, c in
                                                                      enumerate(campaigns)}})
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"ANALYZE {PORTFOLIOS.customers.name}")
    return campaigns


def lookups(despacho, campaigns: list[str], count: int, rounds: int, samples: int) -> None:
    world = SqlBotWorld(despacho.read_engine, "whatsapp:+5716000001")
    customers = PORTFOLIOS.customers.c
    by_key = select(PORTFOLIOS.customers).where(customers.campaign_id == bindparam("campaign"),
                                                customers.document_type == "CC",
                                                customers.document_number == bindparam("number"))
    pick = random.Random(7)

    def document(hit: bool) -> int:
        return FIRST_DOCUMENT + (pick.randint(1, count) if hit else count + pick.randint(1, count))

    def primary_key_select(n: int) -> float:
        number = document(True)

        def select_one() -> None:
            with despacho.read_engine.connect() as connection:
                connection.execute(by_key, {"campaign": campaigns[number % CAMPAIGNS], "number": str(number)}).first()
        return stopwatch(select_one)

    def bot_lookup(hit: bool) -> Callable[[int], float]:
        def lookup(n: int) -> float:
            identity = CustomerIdentity.of("CC", str(document(hit)))
            began = time.perf_counter()
            found = world.campaigns_for_customer(identity)
            took = time.perf_counter() - began
            if bool(found) != hit:
                raise RuntimeError(f"lookup of {identity} found {found}")
            return took
        return lookup

    for label, hit in (("hits", True), ("misses", False)):
        measured = interleaved(rounds, samples, bot_lookup(hit), primary_key_select)
        show(f"[{despacho.read_engine.dialect.name}] bot customer lookup among {count:,} customers, {label}", measured,
             "primary-key SELECT of a customer, own connection", "target p99 ≤ 2 ms on PostgreSQL")
    print(f"    {load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="1,000,000 customers (default 100,000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=400)
    args = parser.parse_args()
    count = 1_000_000 if args.full else 100_000
    for name in available_backends():
        with backend(name) as despacho:
            lookups(despacho, seed_customers(despacho, count), count, args.rounds, args.samples)


if __name__ == "__main__":
    main()
