"""Rules the desk relies on, held by the aggregates themselves (not by the API in front of them)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.campaigns import Campaign, CampaignError, CampaignSettings
from domain.chats import Chat, ChatError

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def open_chat() -> Chat:
    return Chat.open("whatsapp", "whatsapp:+573001112233", "whatsapp:+5716000001", profile_name="",
                     flow_name="default", actor="t", at=NOW)


def test_an_agent_closes_only_with_a_disposition_and_a_supervisor_only_with_a_reason() -> None:
    chat = open_chat()
    with pytest.raises(ChatError, match="tipificación"):
        chat.close("agent", disposition="", note="", actor="t", at=NOW)
    with pytest.raises(ChatError, match="motivo"):
        chat.close("supervisor", disposition="", note="   ", actor="t", at=NOW)
    chat.close("supervisor", disposition="", note="Cliente equivocado", actor="t", at=NOW)
    assert chat.is_closed


def test_only_approved_templates_or_the_closing_one_may_be_sent() -> None:
    settings = CampaignSettings.from_dict({"closing_template_sid": "HX" + "c" * 32, "templates": [
        {"name": "recordatorio", "content_sid": "HX" + "a" * 32, "variables": ["nombre"]}]})
    campaign = Campaign.register("banco_a", "Banco", "Banco Andino", settings, actor="t", at=NOW)
    campaign.check_template_approved("HX" + "a" * 32)
    campaign.check_template_approved("HX" + "c" * 32)
    for refused in ("HX" + "b" * 32, ""):
        with pytest.raises(CampaignError, match="no está aprobada"):
            campaign.check_template_approved(refused)
