"""Read tables on SQLite and PostgreSQL: they show what the commands did, exactly once, and rebuild (R14)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, delete, event, select, text, update

from adapters.read_store import make_read_engine
from despacho.bootstrap import Despacho, all_projectors
from despacho.cli import main as despacho_cli
from domain.agents import Agent
from domain.campaigns import Campaign, CampaignSettings
from domain.canned_replies import CannedReply
from domain.chats import Chat
from domain.messages import OutboundMessage
from domain.portfolios import PortfolioImport
from domain.sessions import AgentSession
from projections.agents import AgentsProjector
from projections.base import BatchProjector
from projections.positions import projector_positions, read_position
from projections.rebuild import REBUILD_SUFFIX, rebuild
from projections.runner import ProjectionRunner
from tests.conftest import CLOSING_TEMPLATE_SID

ADMIN = "user:admin-1"
CUSTOMER = "whatsapp:+573001112233"


@dataclass(frozen=True)
class BusyDay:
    banco_a: str
    telco_b: str
    archived: str
    ana: str
    bruno: str
    supervisora: str
    ana_session: str
    bruno_session: str
    closed_chat: str
    queued_chat: str


def later(despacho: Despacho, minutes: int = 1) -> Any:
    despacho.clock.advance(timedelta(minutes=minutes))  # type: ignore[attr-defined]
    return despacho.clock.now()


CLOSING = CampaignSettings(closing_template_sid=CLOSING_TEMPLATE_SID)


def a_busy_day(despacho: Despacho) -> BusyDay:
    """Campaigns, staff, sessions, a chat from first message to PDF, a queued chat and a portfolio import."""
    save = despacho.store.save
    banco_a = Campaign.register("banco_a", "Banco A — Cobranza", "Banco A", CLOSING, actor=ADMIN,
                                at=later(despacho))
    banco_a.link_sender("whatsapp:+5716000001", "whatsapp", is_default=True, actor=ADMIN, at=later(despacho))
    banco_a.link_sender("+5716000011", "sms", is_default=False, actor=ADMIN, at=later(despacho))
    banco_a.unlink_sender("whatsapp:+5716000001", actor=ADMIN, at=later(despacho))
    telco_b = Campaign.register("telco_b", "Telco B — Cartera", "Telco B", CLOSING, actor=ADMIN,
                                at=later(despacho))
    telco_b.link_sender("whatsapp:+5716000002", "whatsapp", is_default=False, actor=ADMIN, at=later(despacho))
    telco_b.edit(name="Telco B — Cartera castigada", display_name="Telco B",
                 settings=CLOSING.updated({"routing_policy": "round_robin"}), actor=ADMIN, at=later(despacho))
    archived = Campaign.register("viejo", "Campaña vieja", "Vieja", CampaignSettings(), actor=ADMIN,
                                 at=later(despacho))
    archived.archive(actor=ADMIN, at=later(despacho))
    save(banco_a, telco_b, archived)
    a, b = str(banco_a.id), str(telco_b.id)

    ana = Agent.register("ana", "Ana Asesora", "agent", 3, actor=ADMIN, at=later(despacho))
    ana.join_campaign(a, actor=ADMIN, at=later(despacho))
    bruno = Agent.register("bruno", "Bruno Asesor", "agent", 2, actor=ADMIN, at=later(despacho))
    bruno.set_campaigns({a, b}, actor=ADMIN, at=later(despacho))
    supervisora = Agent.register("supervisora", "Sandra Supervisora", "supervisor", 1, actor=ADMIN,
                                 at=later(despacho))
    supervisora.set_campaigns({a, b}, actor=ADMIN, at=later(despacho))
    save(ana, bruno, supervisora)
    bruno.leave_campaign(a, actor="user:supervisora", at=later(despacho))
    bruno.edit_profile(name="Bruno Asesor", role="agent", capacity=4, actor=ADMIN, at=later(despacho))
    ana_session = AgentSession.open(str(ana.id), client="Firefox", actor=f"user:{ana.id}", at=later(despacho))
    bruno_session = AgentSession.open(str(bruno.id), client="Chrome", actor=f"user:{bruno.id}", at=later(despacho))
    ana.sign_in(str(ana_session.id), allow_parallel=False, actor=f"user:{ana.id}", at=later(despacho))
    bruno.sign_in(str(bruno_session.id), allow_parallel=False, actor=f"user:{bruno.id}", at=later(despacho))
    ana.change_status("available", session_id=str(ana_session.id), actor=f"user:{ana.id}", at=later(despacho))
    bruno.change_status("break", reason="almuerzo", session_id=str(bruno_session.id), actor=f"user:{bruno.id}",
                        at=later(despacho))
    save(bruno, ana_session, bruno_session, ana)

    chat = Chat.open("whatsapp", CUSTOMER, "+5716000011", profile_name="Luz", flow_name="default",
                     actor=f"customer:{CUSTOMER}", at=later(despacho))
    chat.receive_customer_message("SM1", "Hola, quiero pagar", [], actor=f"customer:{CUSTOMER}", at=later(despacho))
    chat.identify(a, "CC", "1020", actor="system", at=later(despacho))
    chat.enqueue(a, outside_hours=False, actor="system", at=later(despacho))
    ana.take_chat(str(chat.id), a, exceptional=False, actor="system", at=later(despacho))
    chat.assign(str(ana.id), {"policy": "least_load", "candidates": [{"agent_id": str(ana.id), "load": 0}]},
                exceptional=False, reason="", actor="system", at=despacho.clock.now())
    chat.mark_seen(str(ana.id), 1, actor=f"user:{ana.id}", at=later(despacho))
    save(ana, chat)
    reply = OutboundMessage.request(chat_id=str(chat.id), campaign_id=a, kind="agent", channel="whatsapp", to=CUSTOMER,
                                    sender="+5716000011", body="Con gusto le ayudo", agent_id=str(ana.id),
                                    session_id=str(ana_session.id), actor=f"user:{ana.id}", at=later(despacho))
    chat.record_agent_reply(str(reply.id), str(ana.id), str(ana_session.id), actor=f"user:{ana.id}",
                            at=despacho.clock.now())
    chat.add_note("note-1", "Prefiere que la llamen", author_id=str(ana.id), actor=f"user:{ana.id}",
                  at=later(despacho))
    chat.close("agent", disposition="acuerdo_de_pago", note="Paga el viernes", actor=f"user:{ana.id}",
               at=later(despacho), session_id=str(ana_session.id))
    ana.release_chat(str(chat.id), reason="closed", actor="system", at=despacho.clock.now())
    chat.request_confirmation("confirmation-1", actor="system", at=later(despacho))
    chat.store_transcript("transcripts/chat.pdf", "ab" * 32, actor="system", at=later(despacho))
    save(reply, chat, ana)

    queued = Chat.open("sms", "+573109998877", "whatsapp:+5716000002", profile_name="", flow_name="default",
                       actor="customer:+573109998877", at=later(despacho))
    queued.receive_customer_message("SM2", "Buenas", [], actor="customer:+573109998877", at=later(despacho))
    queued.enqueue(b, outside_hours=True, actor="system", at=later(despacho))
    bruno_session.close("logout", actor=f"user:{bruno.id}", at=later(despacho))
    bruno.sign_out(str(bruno_session.id), reason="logout", actor=f"user:{bruno.id}", at=despacho.clock.now())
    portfolio = PortfolioImport.start(a, "cartera.xlsx", "cd" * 32, "upsert", actor=ADMIN, at=later(despacho),
                                      field_labels={"dias_mora": "Días de mora"})
    chunk = portfolio.stage(0, [{"document_type": "CC", "document_number": str(1000 + n), "full_name": f"Cliente {n}",
                                 "phones": [f"+57300111{n:04d}"]} for n in range(3)])
    save(queued, bruno_session, bruno, portfolio, chunk)  # staged...
    portfolio.complete({"valid": 3, "invalid": 0}, chunk.size, actor=ADMIN, at=later(despacho))
    save(portfolio)  # ...then live
    greeting = CannedReply.write(a, "Saludo", "Hola {nombre}", actor=ADMIN, at=later(despacho))
    farewell = CannedReply.write(a, "Despedida", "Hasta pronto", actor=ADMIN, at=later(despacho))
    greeting.edit("Saludo", "Hola {primer_nombre}, su saldo es {saldo}", actor=ADMIN, at=later(despacho))
    farewell.delete(actor=ADMIN, at=later(despacho))
    save(greeting, farewell)
    return BusyDay(a, b, str(archived.id), str(ana.id), str(bruno.id), str(supervisora.id), str(ana_session.id),
                   str(bruno_session.id), str(chat.id), str(queued.id))


def agents_taking_chats(despacho: Despacho, agents: int, chats_each: int) -> dict[str, int]:
    """Many small saves: each agent takes chats one save at a time; returns the open chats per agent id."""
    now = despacho.clock.now()
    campaign = Campaign.register("masivo", "Campaña masiva", "Masiva", CampaignSettings(), actor=ADMIN, at=now)
    despacho.store.save(campaign)
    expected = {}
    for number in range(agents):
        agent = Agent.register(f"asesor{number:03d}", f"Asesor {number}", "agent", chats_each, actor=ADMIN, at=now)
        agent.join_campaign(str(campaign.id), actor=ADMIN, at=now)
        session = AgentSession.open(str(agent.id), client="t", actor=ADMIN, at=now)
        agent.sign_in(str(session.id), allow_parallel=False, actor=ADMIN, at=now)
        agent.change_status("available", session_id=str(session.id), actor=ADMIN, at=now)
        despacho.store.save(agent, session)
        for chat in range(chats_each):
            agent.take_chat(f"chat-{number}-{chat}", str(campaign.id), exceptional=False, actor="system", at=now)
            despacho.store.save(agent)
        expected[str(agent.id)] = chats_each
    return expected


def rows(connection: Connection, table: Any) -> list[dict[str, Any]]:
    primary_key = list(table.primary_key.columns)
    return [dict(row) for row in connection.execute(select(table).order_by(*primary_key)).mappings()]


def read_tables(despacho: Despacho) -> dict[str, list[dict[str, Any]]]:
    """Every read model's rows (the follow-up ledger is the follower's record of work, not derived data)."""
    with despacho.read_engine.connect() as connection:
        return {table.name: rows(connection, table) for projector in all_projectors() for table in projector.tables}


def open_chats_by_agent(engine: Engine) -> dict[str, int]:
    agents = AgentsProjector().agents
    with engine.connect() as connection:
        return dict(connection.execute(select(agents.c.id, agents.c.open_chats)).all())


def verify(despacho: Despacho) -> list[Any]:
    """Every projector's rebuild compared with its live tables, without touching them."""
    return [difference for projector in all_projectors()
            for difference in rebuild(despacho.store, despacho.read_engine, type(projector), replace_live=False)]


def test_read_tables_show_what_the_commands_did(despacho: Despacho) -> None:
    day = a_busy_day(despacho)

    despacho.runner.catch_up()

    tables = read_tables(despacho)
    campaigns = {row["code"]: row for row in tables["campaigns"]}
    assert (campaigns["viejo"]["archived"], campaigns["telco_b"]["routing_policy"]) == (True, "round_robin")
    assert campaigns["telco_b"]["name"] == "Telco B — Cartera castigada"
    assert [(s["campaign_id"], s["address"], s["is_default"]) for s in tables["campaign_senders"]] == sorted([
        (day.banco_a, "+5716000011", True), (day.telco_b, "whatsapp:+5716000002", True)])
    agents = {row["login"]: row for row in tables["agents"]}
    assert (agents["ana"]["status"], agents["ana"]["open_chats"], agents["ana"]["current_session_id"]) == (
        "available", 0, day.ana_session)
    assert (agents["bruno"]["capacity"], agents["bruno"]["current_session_id"]) == (4, None)
    assert (agents["ana"]["open_sessions"], agents["bruno"]["open_sessions"]) == (1, 0)
    assert (agents["bruno"]["status"], agents["bruno"]["status_reason"]) == ("offline", ""), "logout: offline"
    assert agents["bruno"]["signed_out_at"] is not None and agents["ana"]["signed_out_at"] is None
    assert {(m["agent_id"], m["campaign_id"]) for m in tables["agent_campaigns"]} == {
        (day.ana, day.banco_a), (day.bruno, day.telco_b), (day.supervisora, day.banco_a),
        (day.supervisora, day.telco_b)}
    bruno_history = sorted((h["at"], h["change"], h["campaign_id"], h["actor"])
                           for h in tables["agent_campaign_history"] if h["agent_id"] == day.bruno)
    joined = sorted([("joined", day.banco_a, ADMIN), ("joined", day.telco_b, ADMIN)])
    assert [entry[1:] for entry in bruno_history] == [*joined, ("left", day.banco_a, "user:supervisora")]
    sessions = {row["id"]: row for row in tables["agent_sessions"]}
    assert sessions[day.ana_session]["closed_at"] is None
    assert (sessions[day.ana_session]["chats_assigned"], sessions[day.ana_session]["chats_closed"],
            sessions[day.ana_session]["messages_sent"]) == (1, 1, 1)
    assert sessions[day.bruno_session]["close_reason"] == "logout"
    chats = {row["id"]: row for row in tables["chats"]}
    assert (chats[day.closed_chat]["status"], chats[day.closed_chat]["disposition"],
            chats[day.closed_chat]["transcript_location"]) == ("closed", "acuerdo_de_pago", "transcripts/chat.pdf")
    assert (chats[day.queued_chat]["status"], chats[day.queued_chat]["campaign_id"]) == ("waiting_queue", day.telco_b)
    assert [row["body"] for row in sorted(tables["chat_messages"], key=lambda r: r["at"])
            if row["chat_id"] == day.closed_chat] == ["Hola, quiero pagar", "Con gusto le ayudo",
                                                      "Prefiere que la llamen"]
    assert [row["author_kind"] for row in tables["chat_messages"] if row["id"] == "note-1"] == ["note"]
    assert (chats[day.closed_chat]["customer_messages"], chats[day.closed_chat]["last_message_body"]) == (
        1, "Con gusto le ayudo")
    assert [(r["chat_id"], r["agent_id"], r["customer_messages"]) for r in tables["chat_reads"]] == [
        (day.closed_chat, day.ana, 1)]
    assert len(tables["customers"]) == 3
    assert [(row["title"], row["text"]) for row in tables["canned_replies"]] == [
        ("Saludo", "Hola {primer_nombre}, su saldo es {saldo}")]


def test_projectors_catch_up_from_empty_tables(despacho: Despacho) -> None:
    a_busy_day(despacho)
    despacho.runner.catch_up()
    projected_live = read_tables(despacho)
    with despacho.read_engine.begin() as connection:
        for projector in all_projectors():
            for table in reversed(projector.tables):
                connection.execute(delete(table))
            connection.execute(update(projector_positions).where(projector_positions.c.name == projector.name)
                               .values(position=0))
    assert not any(read_tables(despacho).values())

    applied = ProjectionRunner(despacho.store, make_read_engine(despacho.settings.read_store_url),
                               all_projectors()).catch_up()

    head = despacho.runner.head()
    assert applied == {"routing": head, "campaigns": head, "agents": head, "portfolios": head, "chats": head,
                       "messages": head, "attendance": head, "metrics": head, "risk": head,
                       "media": head, "canned_replies": head, "broadcasts": head}
    assert read_tables(despacho) == projected_live


def test_small_batches_apply_every_event_once(despacho: Despacho) -> None:
    expected = agents_taking_chats(despacho, agents=6, chats_each=5)
    runner = ProjectionRunner(despacho.store, despacho.read_engine, [AgentsProjector()], batch_size=4)
    [agents] = runner.projectors

    consumed = []
    while (count := runner.run_batch(agents)) > 0:
        consumed.append(count)

    assert max(consumed) == 4
    assert sum(consumed) == despacho.runner.head() > 4 * 10
    assert open_chats_by_agent(despacho.read_engine) == expected


def test_two_runners_racing_over_the_same_tables_apply_each_event_once(despacho: Despacho) -> None:
    expected = agents_taking_chats(despacho, agents=12, chats_each=4)
    engines = [make_read_engine(despacho.settings.read_store_url) for _ in range(2)]
    runners = [ProjectionRunner(despacho.store, engine, all_projectors(), batch_size=3) for engine in engines]
    failures: list[BaseException] = []
    start = threading.Barrier(len(runners))

    def race(runner: ProjectionRunner) -> None:
        try:
            start.wait()
            runner.catch_up()
        except BaseException as exc:  # reported to the test thread below
            failures.append(exc)

    threads = [threading.Thread(target=race, args=(runner,)) for runner in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()

    assert failures == []
    raced = {p.name for p in all_projectors()}
    assert all(status.lag == 0 for status in despacho.runner.status() if status.name in raced)
    assert open_chats_by_agent(despacho.read_engine) == expected
    with despacho.read_engine.connect() as connection:
        history = connection.execute(text("SELECT count(*) FROM agent_campaign_history")).scalar_one()
    assert history == len(expected)
    assert verify(despacho) == []


class CrashingAgentsProjector(AgentsProjector):
    """Fails once, on the Nth chat taken it sees, like a process dying in the middle of a batch."""

    def __init__(self, crash_on: int, suffix: str = "") -> None:
        super().__init__(suffix)
        self.crash_on = crash_on
        self.chats_seen = 0

    def chat_taken(self, connection: Connection, event: Any) -> None:
        self.chats_seen += 1
        if self.chats_seen == self.crash_on:
            raise RuntimeError("projector crashed")
        super().chat_taken(connection, event)


def test_a_crash_in_the_middle_of_a_batch_leaves_nothing_of_it_and_a_restart_applies_it_once(
        despacho: Despacho) -> None:
    first_part = agents_taking_chats(despacho, agents=2, chats_each=3)
    despacho.runner.catch_up()
    position_before = despacho.runner.head()
    tables_before = read_tables(despacho)
    a_busy_day(despacho)
    crashing = CrashingAgentsProjector(crash_on=1)
    runner = ProjectionRunner(despacho.store, despacho.read_engine, [crashing], batch_size=1000)

    with pytest.raises(RuntimeError, match="projector crashed"):
        runner.run_batch(crashing)

    assert read_tables(despacho) == tables_before
    with despacho.read_engine.connect() as connection:
        assert read_position(connection, "agents") == position_before
    runner.catch_up()
    despacho.runner.catch_up()
    assert crashing.chats_seen == 2
    assert open_chats_by_agent(despacho.read_engine) == {
        **first_part, **{row["id"]: 0 for row in read_tables(despacho)["agents"] if row["id"] not in first_part}}
    assert verify(despacho) == []


def test_a_subclassed_projector_keeps_every_inherited_handler() -> None:
    inherited, subclassed = AgentsProjector(), CrashingAgentsProjector(crash_on=0)

    assert subclassed.topics == inherited.topics


def test_rebuild_finds_no_difference_after_a_busy_day(despacho: Despacho) -> None:
    a_busy_day(despacho)
    despacho.runner.catch_up()

    assert verify(despacho) == []


def tamper_with_ana(despacho: Despacho) -> None:
    with despacho.read_engine.begin() as connection:
        connection.execute(text("UPDATE agents SET name = 'Nombre cambiado a mano' WHERE login = 'ana'"))


def ana_as_listed(despacho: Despacho) -> str:
    with despacho.read_engine.connect() as connection:
        return str(connection.execute(text("SELECT name FROM agents WHERE login = 'ana'")).scalar_one())


def test_rebuild_reports_a_tampered_row_and_replacing_repairs_it(despacho: Despacho) -> None:
    day = a_busy_day(despacho)
    despacho.runner.catch_up()
    tamper_with_ana(despacho)

    [difference] = rebuild(despacho.store, despacho.read_engine, AgentsProjector, replace_live=False)
    assert (difference.table, difference.key) == ("agents", (day.ana,))
    assert difference.live is not None and difference.rebuilt is not None
    assert (difference.live["name"], difference.rebuilt["name"]) == ("Nombre cambiado a mano", "Ana Asesora")
    assert ana_as_listed(despacho) == "Nombre cambiado a mano"

    repaired = rebuild(despacho.store, despacho.read_engine, AgentsProjector, replace_live=True)

    assert len(repaired) == 1
    assert ana_as_listed(despacho) == "Ana Asesora"
    assert verify(despacho) == []
    ana = despacho.staff.get(Agent.create_id("ana"))
    ana.change_status("break", reason="baño", session_id=ana.sessions[0], actor="user:ana", at=later(despacho))
    despacho.store.save(ana)
    despacho.runner.catch_up()
    assert verify(despacho) == []


def test_a_rebuild_left_half_done_does_not_spoil_the_next_one(despacho: Despacho) -> None:
    a_busy_day(despacho)
    despacho.runner.catch_up()
    interrupted = ProjectionRunner(despacho.store, despacho.read_engine, [AgentsProjector(REBUILD_SUFFIX)])
    interrupted.create_tables()
    interrupted.catch_up(stop=despacho.runner.head() // 2)

    assert rebuild(despacho.store, despacho.read_engine, AgentsProjector, replace_live=True) == []
    assert ana_as_listed(despacho) == "Ana Asesora"


# The command line, in embedded mode (SQLite under DESPACHO_VAR_DIR), over the demo data.

@pytest.fixture(scope="module")
def demo_var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`despacho demo` run once per module; each test works on its own copy."""
    var_dir = tmp_path_factory.mktemp("demo") / "var"
    with pytest.MonkeyPatch.context() as monkeypatch:
        embedded_cli_env(monkeypatch, var_dir)
        result = CliRunner().invoke(despacho_cli, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return var_dir


def embedded_cli_env(monkeypatch: pytest.MonkeyPatch, var_dir: Path) -> None:
    for name in ("DESPACHO_MODE", "DESPACHO_DATABASE_URL", "DESPACHO_READ_DATABASE_URL", "DESPACHO_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DESPACHO_VAR_DIR", str(var_dir))
    monkeypatch.chdir(var_dir.parent)


@pytest.fixture
def cli(demo_var_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    var_dir = tmp_path / "var"
    shutil.copytree(demo_var_dir, var_dir)
    embedded_cli_env(monkeypatch, var_dir)
    runner = CliRunner()

    def run(*arguments: str) -> Any:
        return runner.invoke(despacho_cli, list(arguments), catch_exceptions=False)

    return run


def tamper_with_ana_in(database: Path) -> None:
    engine = make_read_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE agents SET name = 'Nombre cambiado a mano' WHERE login = 'ana'"))
    engine.dispose()


def test_cli_verify_passes_after_the_demo_and_fails_after_tampering(cli: Callable[..., Any], tmp_path: Path) -> None:
    clean = cli("projections", "rebuild", "--verify")
    assert clean.exit_code == 0, clean.output
    assert "agents: 0 difference(s)" in clean.output

    tamper_with_ana_in(tmp_path / "var" / "despacho.sqlite")
    tampered = cli("projections", "rebuild", "--verify")
    assert tampered.exit_code == 1
    assert "agents: 1 difference(s)" in tampered.output
    assert "Nombre cambiado a mano" in tampered.output

    assert cli("projections", "rebuild", "agents").exit_code == 0
    assert cli("projections", "rebuild", "--verify").exit_code == 0


def test_cli_status_reports_every_projector_caught_up_as_json(cli: Callable[..., Any]) -> None:
    result = cli("projections", "status", "--json")

    assert result.exit_code == 0
    statuses = json.loads(result.output)
    assert {s["name"] for s in statuses} == {"follow_ups", "inbound_attachments", "routing", "campaigns", "agents",
                                             "portfolios", "chats", "messages", "attendance", "metrics", "risk",
                                             "media", "canned_replies", "broadcasts"}
    # The demo is a one-off command: it leaves handing out follow-ups and attaching inbound messages to the
    # long-running processes.
    assert all(s["lag"] == 0 and s["position"] == s["head"] > 0 for s in statuses
               if s["name"] not in ("follow_ups", "inbound_attachments"))



def chats_from_first_message_to_close(despacho: Despacho, count: int) -> None:
    """`count` chats, each opened, queued, assigned, answered and closed with its confirmation, in one save each."""
    now = despacho.clock.now()
    campaign = Campaign.register(f"lote{count}", "Campaña de lote", "Lote", CLOSING, actor=ADMIN, at=now)
    agent = Agent.register(f"asesor{count}", "Asesor de lote", "agent", 50, actor=ADMIN, at=now)
    agent.join_campaign(str(campaign.id), actor=ADMIN, at=now)
    agent.sign_in(f"session-{count}", allow_parallel=False, actor=ADMIN, at=now)
    agent.change_status("available", actor=ADMIN, at=now)
    despacho.store.save(campaign, agent)
    for n in range(count):
        customer = f"whatsapp:+5731{count:03d}{n:05d}"
        chat = Chat.open("whatsapp", customer, "+5716000011", profile_name="", flow_name="default",
                         actor=f"customer:{customer}", at=now)
        chat.receive_customer_message(f"SM{count}-{n}", "Hola", [], actor=f"customer:{customer}", at=now)
        chat.enqueue(str(campaign.id), outside_hours=False, actor="system", at=now)
        agent.take_chat(str(chat.id), str(campaign.id), exceptional=False, actor="system", at=now)
        chat.assign(str(agent.id), {}, exceptional=False, reason="", actor="system", at=now)
        reply = OutboundMessage.request(chat_id=str(chat.id), campaign_id=str(campaign.id), kind="agent",
                                        channel="whatsapp", to=customer, sender="+5716000011", body="Hola",
                                        agent_id=str(agent.id), actor=f"user:{agent.id}", at=now)
        reply.record_submission(f"SMo{count}-{n}", "queued", actor="worker", at=now)
        chat.record_agent_reply(str(reply.id), str(agent.id), "", actor=f"user:{agent.id}", at=now)
        chat.close("agent", disposition="acuerdo_de_pago", note="", actor=f"user:{agent.id}", at=now)
        agent.release_chat(str(chat.id), reason="closed", actor="system", at=now)
        chat.request_confirmation(f"confirmation-{count}-{n}", actor="system", at=now)
        despacho.store.save(chat, reply, agent)


def statements_to_project_in_one_batch(despacho: Despacho, projector_class: type[Any]) -> list[str]:
    fresh = projector_class(REBUILD_SUFFIX)
    runner = ProjectionRunner(despacho.store, despacho.read_engine, [fresh], batch_size=100_000)
    runner.create_tables()
    statements: list[str] = []

    def count(*arguments: Any) -> None:
        statements.append(" ".join(arguments[2].split()[:4]))

    event.listen(despacho.read_engine, "before_cursor_execute", count)
    try:
        assert runner.run_batch(fresh) == despacho.runner.head()
    finally:
        event.remove(despacho.read_engine, "before_cursor_execute", count)
        fresh.metadata.drop_all(despacho.read_engine)
        with despacho.read_engine.begin() as connection:
            connection.execute(delete(projector_positions).where(projector_positions.c.name == fresh.position_key))
    return sorted(statements)


@pytest.mark.parametrize("projector_class", [type(p) for p in all_projectors() if isinstance(p, BatchProjector)],
                         ids=lambda c: c.name)
def test_a_batch_costs_the_same_statements_for_five_chats_as_for_forty(
        despacho: Despacho, projector_class: type[Any]) -> None:
    chats_from_first_message_to_close(despacho, 5)
    for_five = statements_to_project_in_one_batch(despacho, projector_class)
    chats_from_first_message_to_close(despacho, 40)

    assert statements_to_project_in_one_batch(despacho, projector_class) == for_five
