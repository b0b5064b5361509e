"""A confirmed import whose job the broker lost is handed out again by the follow-up ledger, and imported once."""

from __future__ import annotations

from datetime import timedelta

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho

PORTFOLIO = b"documento;tipo_documento;nombres;celular\n1020304050;CC;Maria Perez;3001112233\n"


def test_a_lost_job_message_is_handed_out_again_and_the_retry_imports_once(sqlite_despacho: Despacho,
                                                                           clock: FixedClock) -> None:
    despacho = sqlite_despacho
    campaign = despacho.campaigns.register("banco_a", "Banco", "Banco Andino", {}, actor="test")
    upload, _ = despacho.portfolios.preview_upload("cartera.csv", content=PORTFOLIO)
    job_id = despacho.portfolios.queue_import(campaign, upload, "cartera.csv", actor="test")
    despacho.runner.catch_up()  # the follower hands the import out
    queue = despacho.broker.queues["portfolios"]  # type: ignore[attr-defined]
    assert queue.qsize() == 1
    queue.get_nowait()  # ...and the broker loses it (a Redis restarted empty)

    despacho.actors.redeliver_follow_ups.fn()
    assert queue.qsize() == 0, "a fresh hand-out is left to its own message"
    clock.advance(timedelta(minutes=11))
    despacho.actors.redeliver_follow_ups.fn()
    assert queue.qsize() == 1
    for _ in range(2):  # the message handed out again, and the original turning up late
        despacho.import_portfolio.fn(str(job_id))
    imports = [e for e in despacho.store.events.get(job_id) if type(e).__name__ == "Finished"]
    assert len(imports) == 1, "imported once"
