"""The unidentified customers' campaign exists from the install, and its waiting chats are never silent."""

from __future__ import annotations

import threading
from uuid import UUID

from click.testing import CliRunner
from sqlalchemy import select

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho, build
from despacho.cli import main as despacho_cli
from despacho.demo import load_demo
from despacho.settings import Settings
from domain.business_hours import takes_chats_now
from domain.chats import Chat
from projections.queries import CHATS, list_agents, list_campaigns
from tests.conftest import START


def test_the_install_creates_the_unidentified_campaign_once_however_many_processes_start(
        settings: Settings, clock: FixedClock) -> None:
    starting = [build(settings, clock=clock) for _ in range(3)]
    try:
        threads = [threading.Thread(target=d.unidentified.ensure_exists) for d in starting for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        starting[0].runner.catch_up()
        codes = [c["code"] for c in list_campaigns(starting[0].read_engine)]
        assert codes.count("sin_identificar") == 1
    finally:
        for despacho in starting:
            despacho.close()


def test_creating_the_first_admin_creates_the_unidentified_campaign(settings: Settings) -> None:
    env = {"DESPACHO_VAR_DIR": str(settings.var_dir), "DESPACHO_NEW_PASSWORD": "una-clave-segura-1"}
    if settings.database_url:
        env["DESPACHO_DATABASE_URL"] = settings.database_url
    result = CliRunner(env=env).invoke(despacho_cli, ["users", "create", "--role", "admin", "--login", "admin",
                                                      "--name", "Administración"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    despacho = build(settings)
    try:
        assert despacho.unidentified.campaign_id_if_exists() is not None
    finally:
        despacho.close()


def test_the_demo_has_the_unidentified_campaign_with_a_designated_agent_open_around_the_clock(
        settings: Settings) -> None:
    load_demo(settings)
    despacho = build(settings)
    try:
        campaign_id = despacho.unidentified.campaign_id_if_exists()
        assert campaign_id is not None
        campaign = despacho.campaigns.get(UUID(campaign_id))
        assert campaign.settings.closing_template_sid
        assert all(takes_chats_now(campaign.settings, START.replace(hour=h)) for h in range(24))
        members = [a["login"] for a in list_agents(despacho.read_engine, role="agent") if campaign_id in a["campaigns"]]
        assert members == ["carla"]
    finally:
        despacho.close()


def unidentified_chat(despacho: Despacho, n: int) -> str:
    now = despacho.clock.now()
    chat = Chat.open("whatsapp", f"whatsapp:+5730000{n:05d}", "whatsapp:+5716009999", profile_name="",
                     flow_name="default", actor="t", at=now)
    chat.enqueue(despacho.unidentified.campaign_id(), outside_hours=False, actor="t", at=now)
    despacho.store.save(chat)
    return str(chat.id)


def alerts(despacho: Despacho) -> list[tuple[str, str, str]]:
    despacho.runner.catch_up()
    table = CHATS.alerts
    with despacho.read_engine.connect() as connection:
        return sorted((r.chat_id, r.kind, r.state) for r in connection.execute(
            select(table.c.chat_id, table.c.kind, table.c.state)))


def test_chats_waiting_in_the_unidentified_queue_with_no_agent_alert_supervisors_until_one_takes_them(
        despacho: Despacho) -> None:
    waiting = sorted(unidentified_chat(despacho, n) for n in range(2))
    despacho.runner.catch_up()
    for _ in range(2):
        despacho.actors.run_timers.fn()
    assert alerts(despacho) == [(chat_id, "no_agent", "open") for chat_id in waiting], "one alert per chat, at once"

    carla = despacho.staff.register("carla", "Carla", "agent", password="clave-de-prueba-1", actor="t",
                                    campaign_ids=frozenset({despacho.unidentified.campaign_id()}))
    session = despacho.staff.open_session(carla, "t")
    despacho.staff.change_status(carla, "available", session_id=session, actor="t")
    despacho.runner.catch_up()  # carla's status change dispatches the queue to her
    later = unidentified_chat(despacho, 9)
    despacho.runner.catch_up()
    despacho.actors.run_timers.fn()

    assert alerts(despacho) == [(chat_id, "no_agent", "resolved") for chat_id in waiting]
    assert later not in {chat_id for chat_id, _, _ in alerts(despacho)}, "an available agent will take it"
