"""`DESPACHO_FOLLOW_UP_REDELIVERY_SECONDS`: how long a follow-up the broker lost waits before it is handed out again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings

PORTFOLIO = b"documento;tipo_documento;nombres;celular\n1020304050;CC;Maria Perez;3001112233\n"


@pytest.fixture
def quick_redelivery(sqlite_settings: Settings, clock: FixedClock) -> Iterator[Despacho]:
    built = build(sqlite_settings.model_copy(update={"follow_up_redelivery_seconds": 30}), clock=clock)
    yield built
    built.close()


def test_a_lost_follow_up_is_handed_out_again_after_the_configured_wait(quick_redelivery: Despacho,
                                                                        clock: FixedClock) -> None:
    despacho = quick_redelivery
    campaign = despacho.campaigns.register("banco_a", "Banco", "Banco Andino", {}, actor="test")
    upload, _ = despacho.portfolios.preview_upload("cartera.csv", content=PORTFOLIO)
    despacho.portfolios.queue_import(campaign, upload, "cartera.csv", actor="test")
    despacho.runner.catch_up()  # the follower hands the import out
    queue = despacho.broker.queues["portfolios"]  # type: ignore[attr-defined]
    queue.get_nowait()  # ...and the broker loses it (a Redis restarted empty)

    clock.advance(timedelta(seconds=29))
    despacho.actors.redeliver_follow_ups.fn()
    assert queue.qsize() == 0, "not yet: it may still be on its way"
    clock.advance(timedelta(seconds=2))
    despacho.actors.redeliver_follow_ups.fn()
    assert queue.qsize() == 1
