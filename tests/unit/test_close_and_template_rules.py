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


def test_every_close_a_person_makes_in_a_campaign_records_a_disposition_a_supervisors_included() -> None:
    for reason in ("agent", "supervisor"):
        chat = open_chat()
        chat.identify("c-banco", "CC", "1020304050", actor="t", at=NOW)
        with pytest.raises(ChatError, match="tipificación"):
            chat.close(reason, disposition="", note="Cliente equivocado", actor="t", at=NOW)
        chat.close(reason, disposition="numero_equivocado", note="Cliente equivocado", actor="t", at=NOW)
        assert chat.is_closed


def test_closes_no_person_chose_need_no_disposition() -> None:
    for reason in ("auto_24h", "opt_out", "bot", "bot_inactivity"):
        chat = open_chat()
        chat.identify("c-banco", "CC", "1020304050", actor="t", at=NOW)
        chat.close(reason, disposition="", note="", actor="system", at=NOW)
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


CLOSING = "HX" + "c" * 32
WHATSAPP = "whatsapp:+5716000001"


def test_a_whatsapp_campaign_cannot_go_live_without_its_closing_template() -> None:
    campaign = Campaign.register("banco_a", "Banco", "Banco Andino", CampaignSettings(), actor="t", at=NOW)
    campaign.link_sender("+5716000011", "sms", is_default=True, actor="t", at=NOW)
    with pytest.raises(CampaignError, match="plantilla de cierre"):
        campaign.link_sender(WHATSAPP, "whatsapp", is_default=False, actor="t", at=NOW)
    assert list(campaign.senders) == ["+5716000011"]


def test_a_whatsapp_campaign_keeps_its_closing_template_when_edited() -> None:
    campaign = Campaign.register("banco_a", "Banco", "Banco Andino", CampaignSettings(closing_template_sid=CLOSING),
                                 actor="t", at=NOW)
    campaign.link_sender(WHATSAPP, "whatsapp", is_default=True, actor="t", at=NOW)
    with pytest.raises(CampaignError, match="plantilla de cierre"):
        campaign.edit(name="Banco", display_name="Banco Andino",
                      settings=campaign.settings.updated({"closing_template_sid": ""}), actor="t", at=NOW)
    assert campaign.settings.closing_template_sid == CLOSING


def test_a_whatsapp_campaign_recorded_before_the_rule_still_loads_and_is_asked_for_it_on_its_next_edit() -> None:
    recorded = Campaign(code="banco_a", name="Banco", display_name="Banco Andino",
                        settings=CampaignSettings().to_dict(), actor="t", at=NOW)
    recorded._sender_linked(address=WHATSAPP, channel="whatsapp", is_default=True, actor="t", at=NOW)
    campaign: Campaign | None = None
    for old_event in recorded.collect_events():  # what the log holds from before the rule, replayed
        campaign = old_event.mutate(campaign)
    assert campaign is not None and campaign.senders[WHATSAPP].channel == "whatsapp"
    with pytest.raises(CampaignError, match="plantilla de cierre"):
        campaign.edit(name="Banco A", display_name="Banco Andino", settings=campaign.settings, actor="t", at=NOW)
    campaign.edit(name="Banco A", display_name="Banco Andino",
                  settings=campaign.settings.updated({"closing_template_sid": CLOSING}), actor="t", at=NOW)
    assert campaign.name == "Banco A"


def closed_chat() -> Chat:
    chat = open_chat()
    chat.close("supervisor", disposition="", note="fin", actor="t", at=NOW)
    chat.request_confirmation("m1", actor="t", at=NOW)
    return chat


def test_a_lost_confirmation_opens_one_alert_until_a_confirmation_sent_again_is_accepted() -> None:
    chat = closed_chat()
    chat.record_confirmation_failed("m1", "outside_window", actor="t", at=NOW)
    chat.record_confirmation_failed("m1", "outside_window", actor="t", at=NOW)
    assert chat.confirmation_alert_open
    with pytest.raises(ChatError, match="no se marca como vista"):
        chat.acknowledge_alert("confirmation_failed", NOW, actor="t", at=NOW)
    chat.resend_confirmation("m2", actor="user:s", at=NOW)
    chat.record_confirmation_accepted("m1", actor="t", at=NOW)  # the old one: nothing changes
    assert chat.confirmation_alert_open
    chat.record_confirmation_accepted("m2", actor="t", at=NOW)
    assert not chat.confirmation_alert_open
    with pytest.raises(ChatError, match="no llegó"):
        chat.resend_confirmation("m3", actor="user:s", at=NOW)


def test_a_lost_confirmation_alert_is_resolved_by_hand_only_with_how() -> None:
    chat = closed_chat()
    chat.record_confirmation_failed("m1", "opted_out", actor="t", at=NOW)
    with pytest.raises(ChatError, match="cómo se resolvió"):
        chat.resolve_confirmation_alert("  ", actor="user:s", at=NOW)
    chat.resolve_confirmation_alert("Se llamó al cliente", actor="user:s", at=NOW)
    assert not chat.confirmation_alert_open
    with pytest.raises(ChatError, match="ya está resuelta"):
        chat.resolve_confirmation_alert("otra vez", actor="user:s", at=NOW)


def test_only_a_raised_alert_not_yet_seen_can_be_marked_as_seen() -> None:
    chat = open_chat()
    chat.receive_customer_message("SM1", "Hola", [], actor="t", at=NOW)
    with pytest.raises(ChatError, match="no tiene esa alerta"):
        chat.acknowledge_alert("unanswered", NOW, actor="t", at=NOW)
    chat.raise_unanswered_alert(NOW, actor="t", at=NOW)
    chat.acknowledge_alert("unanswered", NOW, actor="t", at=NOW)
    with pytest.raises(ChatError, match="ya fue atendida"):
        chat.acknowledge_alert("unanswered", NOW, actor="t", at=NOW)
