"""A confirmed import whose worker message was lost is sent again by the sweep, and imported once."""

from __future__ import annotations

from datetime import timedelta

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho
from projections.queries import portfolio_jobs_queued_before

PORTFOLIO = b"documento;tipo_documento;nombres;celular\n1020304050;CC;Maria Perez;3001112233\n"


def test_a_lost_job_message_is_sent_again_and_the_retry_imports_once(sqlite_despacho: Despacho,
                                                                     clock: FixedClock) -> None:
    despacho = sqlite_despacho
    campaign = despacho.campaigns.register("banco_a", "Banco", "Banco Andino", {}, actor="test")
    upload, _ = despacho.portfolios.preview_upload("cartera.csv", content=PORTFOLIO)
    job_id = despacho.portfolios.queue_import(campaign, upload, "cartera.csv", actor="test")  # its send is "lost"
    despacho.runner.catch_up()
    despacho.actors.sweep_portfolio_jobs.fn()
    queue = despacho.broker.queues["portfolios"]  # type: ignore[attr-defined]
    assert queue.qsize() == 0, "a fresh job is left to its own message"
    clock.advance(timedelta(minutes=6))
    despacho.actors.sweep_portfolio_jobs.fn()
    assert queue.qsize() == 1
    for _ in range(2):  # the resent message, and the original turning up late
        despacho.import_portfolio.fn(str(job_id))
    despacho.runner.catch_up()
    assert portfolio_jobs_queued_before(despacho.read_engine, clock.now() + timedelta(days=1)) == []
    imports = [e for e in despacho.store.events.get(job_id) if type(e).__name__ == "Finished"]
    assert len(imports) == 1, "imported once"
