"""An inbound message's attachments are each settled once: kept or lost, never both, never one it has not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.messages import InboundMessage, InboundMessageError

AT = datetime(2026, 12, 1, 15, tzinfo=UTC)


def message(count: int) -> InboundMessage:
    params = {"NumMedia": str(count)} | {f"MediaUrl{i}": f"https://api.twilio.com/m/{i}" for i in range(count)}
    return InboundMessage.receive("SM1", params, actor="twilio", at=AT)


@given(st.integers(0, 12), st.lists(st.tuples(st.integers(-1, 12), st.booleans()), max_size=20))
def test_each_attachment_is_settled_at_most_once_and_only_if_it_exists(count: int,
                                                                    attempts: list[tuple[int, bool]]) -> None:
    inbound = message(count)
    settled: dict[int, str] = {}
    for index, keep in attempts:
        try:
            if keep:
                inbound.keep_media(index, location="l", content_type="image/png", size=1, sha256="s", actor="t", at=AT)
            else:
                inbound.lose_media(index, "perdido", actor="t", at=AT)
        except InboundMessageError:
            assert index in settled or not 0 <= index < min(count, 10)
        else:
            assert index not in settled and 0 <= index < min(count, 10)
            settled[index] = "kept" if keep else "lost"
    assert inbound.settled_media == settled
    assert inbound.unsettled_media == [i for i in range(min(count, 10)) if i not in settled]


def test_a_kept_attachment_names_its_message_and_chat() -> None:
    inbound = message(1)
    inbound.attach("chat-1", actor="t", at=AT)
    inbound.keep_media(0, location="media/x/0", content_type="image/png", size=3, sha256="abc", actor="t", at=AT)
    kept = inbound.collect_events()[-1]
    assert (kept.message_sid, kept.chat_id, kept.location) == ("SM1", "chat-1", "media/x/0")
    with pytest.raises(InboundMessageError):
        inbound.lose_media(0, "tarde", actor="t", at=AT)
