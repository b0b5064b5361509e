"""The timer job's time per run over 100,000 open chats (target: under 2 s on this machine),
next to the raw baseline of one indexed scan of the same open chats in the same run.

The chats are written to the read table directly (the job only reads it to find candidates);
a few hundred of them are really due, backed by real aggregates, so each run also does its work.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from common import available_backends, backend, median, report
from sqlalchemy import func, insert, select

from adapters.clock import FixedClock
from domain.chats import Chat
from projections.queries import CHATS

OPEN_CHATS = 100_000
DUE = 300
RUNS = 5


def seed(despacho, campaign_id: str) -> None:
    now = despacho.clock.now()
    rows = [{"id": str(uuid.uuid4()), "campaign_id": campaign_id, "status": "assigned", "channel": "whatsapp",
             "customer_address": f"whatsapp:+57300{n:07d}", "sender_address": "whatsapp:+5716000001",
             "profile_name": "", "opened_at": now, "queued_at": now, "assigned_at": now,
             "last_customer_message_at": now - timedelta(minutes=n % 20), "unanswered_since": None,
             "outside_hours": False, "bot_pending": 0, "queue_alerted": False} for n in range(OPEN_CHATS)]
    with despacho.read_engine.begin() as connection:
        for start in range(0, len(rows), 10_000):
            connection.execute(insert(CHATS.chats), rows[start:start + 10_000])
    for n in range(DUE):  # really due in an hour: unanswered for 30+ minutes
        chat = Chat.open("whatsapp", f"whatsapp:+57310{n:07d}", "whatsapp:+5716000001", profile_name="",
                         flow_name="default", actor="bench", at=now)
        chat.receive_customer_message(f"SM{n:032x}", "hola", [], actor="bench", at=now)
        chat.enqueue(campaign_id, outside_hours=False, actor="bench", at=now)
        despacho.store.save(chat)
    despacho.runner.catch_up()


def raw_scan(despacho) -> float:
    chats = CHATS.chats
    started = time.perf_counter()
    with despacho.read_engine.connect() as connection:
        connection.execute(select(func.count()).select_from(chats).where(
            chats.c.status.in_(("bot", "waiting_queue", "assigned")))).scalar_one()
    return time.perf_counter() - started


def main() -> None:
    for name in available_backends():
        with backend(name) as despacho:
            clock = FixedClock(despacho.clock.now())
            campaign_id = str(despacho.campaigns.register("bench", "Bench", "Bench", {}, actor="bench"))
            seed(despacho, campaign_id)
            clock.advance(timedelta(hours=1))
            runs, raw = [], []
            for n in range(RUNS):
                raw.append(raw_scan(despacho))
                started = time.perf_counter()
                result = despacho.timers.run(clock.now())
                runs.append(time.perf_counter() - started)
                if n == 0:
                    assert result.alerts == DUE, f"expected {DUE} queue alerts, got {result.alerts}"
                despacho.runner.catch_up()
            print(f"[{name}] timer job over {OPEN_CHATS:,} open chats: first run (raises {DUE} alerts) "
                  f"{runs[0]:.2f} s, quiet runs median {median(runs[1:]):.3f} s (target < 2 s)")
            report(f"[{name}] timer runs per second (quiet)", 1 / median(runs[1:]), "runs/s",
                   "one indexed scan of open chats", 1 / median(raw))


if __name__ == "__main__":
    main()
