"""`EventStore.get_many` reads several aggregates in one query and gives what `repository.get` gives."""

from __future__ import annotations

import uuid

from despacho.bootstrap import Despacho
from domain.chats import Chat

SENDER = "whatsapp:+5716000001"


def test_many_aggregates_read_at_once_equal_those_read_one_by_one(despacho: Despacho) -> None:
    now = despacho.clock.now()
    short = Chat.open("whatsapp", "whatsapp:+573001", SENDER, profile_name="", flow_name="default", actor="t", at=now)
    long = Chat.open("whatsapp", "whatsapp:+573002", SENDER, profile_name="", flow_name="default", actor="t", at=now)
    despacho.store.save(short, long)
    for n in range(120):  # past the snapshotting interval: the store holds a snapshot of it too
        long.receive_customer_message(f"SM{n:032x}", f"mensaje {n}", [], actor="t", at=now)
        if n % 10 == 9:
            despacho.store.save(long)
    missing = uuid.uuid4()
    found = despacho.store.get_many([short.id, missing, long.id])
    assert set(found) == {short.id, long.id}
    for chat_id, chat in found.items():
        alone = despacho.store.repository.get(chat_id)
        assert (chat.version, vars(chat)) == (alone.version, vars(alone))
