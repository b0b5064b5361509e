"""Moving a chat to another campaign that also holds its customer: what the chat aggregate allows and records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.chats import Chat, ChatClosedError, ChatError, check_may_transfer
from domain.common import NotAllowedError

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
CUSTOMER = "whatsapp:+573001112233"
BANK, STORE = "campaign-bank", "campaign-store"


def a_waiting_chat(*, identified: bool = True) -> Chat:
    chat = Chat.open("whatsapp", CUSTOMER, "whatsapp:+5716000001", profile_name="Cliente", flow_name="default",
                     actor=f"customer:{CUSTOMER}", at=AT)
    chat.receive_customer_message("SM1", "hola", [], actor=f"customer:{CUSTOMER}", at=AT)
    if identified:
        chat.identify(BANK, "CC", "1020304050", customer_name="Ana Pérez", actor="system:bot", at=AT)
    chat.enqueue(BANK, outside_hours=False, actor="system:bot", at=AT + timedelta(minutes=1))
    return chat


def an_assigned_chat() -> Chat:
    chat = a_waiting_chat()
    chat.assign("agent-ana", {"policy": "least_load"}, exceptional=False, reason="", actor="system:router",
                at=AT + timedelta(minutes=2))
    return chat


def transfer(chat: Chat, campaign_id: str = STORE, *, reason: str = "Pide hablar de su tarjeta de la tienda",
             holds_customer: bool = True, archived: bool = False, minutes: int = 5) -> None:
    chat.transfer_to_campaign(campaign_id, reason=reason, holds_customer=holds_customer, archived=archived,
                              actor="user:agent-ana", at=AT + timedelta(minutes=minutes))


def test_an_assigned_chat_transferred_leaves_its_agent_and_waits_in_the_new_campaigns_queue() -> None:
    chat = an_assigned_chat()

    transfer(chat)

    assert (chat.campaign_id, chat.status, chat.agent_id) == (STORE, "waiting_queue", "")
    recorded = chat.collect_events()[-1]
    assert isinstance(recorded, Chat.TransferredToCampaign)
    assert (recorded.from_campaign_id, recorded.campaign_id, recorded.from_agent_id) == (BANK, STORE, "agent-ana")
    assert recorded.reason == "Pide hablar de su tarjeta de la tienda"


def test_the_queue_wait_and_its_alerts_start_again_at_the_transfer() -> None:
    chat = a_waiting_chat()
    chat.raise_queue_alert(actor="system:timers", at=AT + timedelta(minutes=31))

    transfer(chat, minutes=40)

    assert chat.queued_at == AT + timedelta(minutes=40)
    assert not chat.queue_alerted, "the new campaign's supervisors get their own 30-minute alert"


def test_the_new_campaigns_router_can_assign_the_transferred_chat() -> None:
    chat = an_assigned_chat()
    transfer(chat)

    chat.assign("agent-carla", {"policy": "least_load", "campaign_id": STORE}, exceptional=False, reason="",
                actor="system:router", at=AT + timedelta(minutes=6))

    assert (chat.agent_id, chat.campaign_id) == ("agent-carla", STORE)


@pytest.mark.parametrize(("change", "message"), [
    ({"campaign_id": BANK}, "El chat ya está en esa campaña"),
    ({"holds_customer": False}, "El cliente no está en la cartera de esa campaña"),
    ({"archived": True}, "La campaña de destino está archivada"),
    ({"reason": "   "}, "La transferencia necesita un motivo"),
])
def test_a_transfer_is_refused_with_its_reason(change: dict[str, object], message: str) -> None:
    chat = an_assigned_chat()

    with pytest.raises(ChatError, match=message):
        transfer(chat, **change)  # type: ignore[arg-type]
    assert (chat.campaign_id, chat.agent_id) == (BANK, "agent-ana")


def test_a_closed_chat_is_not_transferred() -> None:
    chat = an_assigned_chat()
    chat.close("agent", disposition="pago", note="", actor="user:agent-ana", at=AT + timedelta(minutes=3))

    with pytest.raises(ChatClosedError, match="El chat ya está cerrado"):
        transfer(chat)


def test_a_chat_still_in_the_bot_or_without_an_identified_customer_is_not_transferred() -> None:
    in_bot = Chat.open("whatsapp", CUSTOMER, "whatsapp:+5716000001", profile_name="Cliente", flow_name="default",
                       actor=f"customer:{CUSTOMER}", at=AT)
    with pytest.raises(ChatError, match="Solo se transfiere un chat en cola o asignado"):
        transfer(in_bot)
    with pytest.raises(ChatError, match="Solo se transfiere un chat con el cliente identificado"):
        transfer(a_waiting_chat(identified=False))


@given(holds_customer=st.booleans(), archived=st.booleans(), same=st.booleans(), reason=st.sampled_from(["", " ", "x"]))
def test_a_transfer_happens_only_to_another_live_campaign_holding_the_customer_with_a_reason(
        holds_customer: bool, archived: bool, same: bool, reason: str) -> None:
    chat = an_assigned_chat()
    allowed = holds_customer and not archived and not same and bool(reason.strip())

    try:
        transfer(chat, BANK if same else STORE, reason=reason, holds_customer=holds_customer, archived=archived)
    except ChatError:
        assert not allowed
        assert (chat.campaign_id, chat.agent_id, chat.status) == (BANK, "agent-ana", "assigned")
    else:
        assert allowed
        assert (chat.campaign_id, chat.agent_id, chat.status) == (STORE, "", "waiting_queue")


@given(role=st.sampled_from(["admin", "supervisor", "agent", "auditor"]), own_chat=st.booleans(),
       supervises=st.booleans())
def test_only_the_assigned_agent_a_supervisor_of_the_campaign_or_an_admin_may_transfer(
        role: str, own_chat: bool, supervises: bool) -> None:
    chat = an_assigned_chat()
    user = "agent-ana" if own_chat else "someone-else"
    campaigns = {BANK} if supervises else {STORE}
    allowed = role == "admin" or (role == "agent" and own_chat) or (role == "supervisor" and supervises)

    try:
        check_may_transfer(chat, role=role, user_id=user, user_campaigns=campaigns)
    except NotAllowedError:
        assert not allowed
    else:
        assert allowed
