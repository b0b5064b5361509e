"""A portfolio import is saved in chunks and goes live in one step: a worker killed between chunks
continues where it stopped, and nobody sees a half-imported portfolio (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from despacho.bootstrap import Despacho
from domain.documents import CustomerIdentity
from domain.portfolios import PortfolioChunk, PortfolioImport
from projections.admin_queries import customers_with_document
from projections.bot_world import SqlBotWorld
from projections.queries import PORTFOLIOS

HEADER = "tipo_documento;documento;nombres;celular;saldo\n"
ROWS = 12_345
"""Thirteen chunks: two full saves of five, and three more with the completion."""


class WorkerKilledError(Exception):
    """The worker process died: nothing after this point of the job ran."""


class KilledAfterSaves:
    """Stands in for the store's save: lets `saves` go through, then the worker dies."""

    def __init__(self, save: Callable[..., Any], saves: int) -> None:
        self.save = save
        self.left = saves

    def __call__(self, *aggregates: Any) -> Any:
        if self.left == 0:
            raise WorkerKilledError
        self.left -= 1
        return self.save(*aggregates)


def portfolio(rows: int, *, first: int = 0, name: str = "Cliente") -> bytes:
    lines = (f"CC;{10_000_000 + n};{name} {n};300{n:07d};{n}.50\n" for n in range(first, first + rows))
    return (HEADER + "".join(lines)).encode()


def queued_job(despacho: Despacho, campaign: UUID, content: bytes) -> UUID:
    upload, _ = despacho.portfolios.preview_upload("cartera.csv", content=content)
    return despacho.portfolios.queue_import(campaign, upload, "cartera.csv", actor="test")


def run_killed_after(despacho: Despacho, job_id: UUID, saves: int) -> None:
    despacho.store.save = KilledAfterSaves(despacho.store.save, saves)  # type: ignore[method-assign]
    try:
        with pytest.raises(WorkerKilledError):
            despacho.import_portfolio.fn(str(job_id))
    finally:
        del despacho.store.save


def customers_of(despacho: Despacho, campaign: UUID) -> list[tuple[Any, ...]]:
    customers = PORTFOLIOS.customers
    with despacho.read_engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(customers.c.document_type, customers.c.document_number, customers.c.full_name,
                   customers.c.phones, customers.c.balance, customers.c.active)
            .where(customers.c.campaign_id == str(campaign)).order_by(customers.c.document_number))]


def phones_of(despacho: Despacho, campaign: UUID) -> list[tuple[Any, ...]]:
    phones = PORTFOLIOS.phones
    with despacho.read_engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(phones.c.document_number, phones.c.phone).where(phones.c.campaign_id == str(campaign))
            .order_by(phones.c.document_number, phones.c.phone))]


def staged_chunks(despacho: Despacho) -> int:
    with despacho.read_engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(PORTFOLIOS.staged)).scalar_one()


def chunk_events(despacho: Despacho, job_id: UUID) -> int:
    import_id = str(PortfolioImport.id_for_job(job_id))
    return sum(len(despacho.store.recorder.select_events(PortfolioChunk.create_id(import_id, number)))
               for number in range(ROWS // 1000 + 2))


def test_a_worker_killed_between_chunks_continues_and_ends_as_an_uninterrupted_import(despacho: Despacho) -> None:
    content = portfolio(ROWS)
    interrupted = despacho.campaigns.register("banco_a", "Banco", "Banco Andino", {}, actor="test")
    reference = despacho.campaigns.register("telco_b", "Telco", "Telco Bogotá", {}, actor="test")
    job_id = queued_job(despacho, interrupted, content)

    run_killed_after(despacho, job_id, saves=2)  # the job's start and the first five chunks
    despacho.runner.catch_up(hand_out_work=False)
    assert customers_of(despacho, interrupted) == [], "staged rows are not customers yet"
    assert despacho.import_portfolio.fn(str(job_id)) is None  # the retry
    despacho.portfolios.run_job(queued_job(despacho, reference, content))
    despacho.runner.catch_up(hand_out_work=False)

    assert len(customers_of(despacho, interrupted)) == ROWS
    assert customers_of(despacho, interrupted) == customers_of(despacho, reference)
    assert phones_of(despacho, interrupted) == phones_of(despacho, reference)
    assert chunk_events(despacho, job_id) == 13, "no chunk saved twice"
    assert staged_chunks(despacho) == 0


def test_the_bot_finds_the_old_portfolio_while_a_new_one_is_staged_and_the_new_one_after(despacho: Despacho) -> None:
    campaign = despacho.campaigns.register("banco_a", "Banco", "Banco Andino", {}, actor="test")
    despacho.portfolios.run_job(queued_job(despacho, campaign, portfolio(10, name="Antes")))
    job_id = queued_job(despacho, campaign, portfolio(6_000, name="Después"))
    bot = SqlBotWorld(despacho.read_engine, sender_address="whatsapp:+5716000001")
    newcomer = CustomerIdentity("CC", str(10_000_000 + 5_999))

    run_killed_after(despacho, job_id, saves=2)
    despacho.runner.catch_up(hand_out_work=False)
    assert staged_chunks(despacho) > 0
    assert customers_with_document(despacho.read_engine, "10000003")[0]["full_name"] == "Antes 3"
    assert bot.campaigns_for_customer(newcomer) == []

    despacho.portfolios.run_job(job_id)
    despacho.runner.catch_up(hand_out_work=False)
    assert customers_with_document(despacho.read_engine, "10000003")[0]["full_name"] == "Después 3"
    assert [ref.campaign_id for ref in bot.campaigns_for_customer(newcomer)] == [str(campaign)]


def test_an_import_that_fails_after_staging_leaves_the_previous_portfolio_in_place(despacho: Despacho) -> None:
    campaign = despacho.campaigns.register("banco_a", "Banco", "Banco Andino", {}, actor="test")
    despacho.portfolios.run_job(queued_job(despacho, campaign, portfolio(10, name="Antes")))
    despacho.runner.catch_up(hand_out_work=False)
    before = customers_of(despacho, campaign)
    job_id = queued_job(despacho, campaign, portfolio(6_000, name="Después"))

    run_killed_after(despacho, job_id, saves=2)
    despacho.campaigns.archive(campaign, actor="test")  # the retry now refuses to go on
    assert despacho.portfolios.run_job(job_id) == "failed"
    despacho.runner.catch_up(hand_out_work=False)

    assert customers_of(despacho, campaign) == before
    assert staged_chunks(despacho) == 0, "what was staged is dropped"
    imports = PORTFOLIOS.imports
    with despacho.read_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(imports)).scalar_one() == 1
