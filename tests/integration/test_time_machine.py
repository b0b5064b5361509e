"""The auditors' time machine on a real store (SQLite and PostgreSQL): the queue, the agents and a chat as of two
instants, the decision's candidates, the lookup on record, and `despacho audit as-of` on the same log."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.clock import FixedClock
from application.as_of import AgentThen, AsOf, TimeMachine, state_as_of
from application.log_replay import read_log
from despacho.bootstrap import Despacho, build
from despacho.cli import main as despacho_cli
from despacho.settings import Settings
from domain.audit_lookups import AuditLookup
from domain.common import DomainError
from tests.time_machine_world import TwoWaitingThenAssigned, two_waiting_then_assigned


@pytest.fixture
def world(settings: Settings, clock: FixedClock, database_url: str, monkeypatch: pytest.MonkeyPatch,
          tmp_path: Path) -> Iterator[TwoWaitingThenAssigned]:
    monkeypatch.setenv("DESPACHO_DATABASE_URL", database_url)  # the command reads the same log
    monkeypatch.setenv("DESPACHO_VAR_DIR", str(tmp_path / "var"))
    despacho = build(settings, clock=clock)
    yield two_waiting_then_assigned(despacho, clock)
    despacho.close()


def agents_by_name(answer: AsOf) -> dict[str, AgentThen]:
    assert answer.campaign is not None
    return {agent.name: agent for agent in answer.campaign.agents}


def test_before_routing_ran_two_chats_wait_in_order_and_ana_is_available_with_one(
        world: TwoWaitingThenAssigned) -> None:
    answer = state_as_of(world.floor.despacho.store, world.before, campaign_id=world.floor.campaign)

    assert answer.campaign is not None
    assert [q.chat_id for q in answer.campaign.queue] == [world.first, world.second]
    assert answer.campaign.queue[0].waiting_since < answer.campaign.queue[1].waiting_since <= world.before
    agents = agents_by_name(answer)
    assert (agents["Ana"].status, agents["Ana"].open_chats, agents["Ana"].capacity) == ("available", 1, 2)
    assert (agents["Carla"].status, agents["Carla"].open_chats) == ("available", 2)
    assert (agents["Bruno"].status, agents["Bruno"].status_reason, agents["Bruno"].candidacy) == (
        "break", "almuerzo", "unavailable")
    assert agents["Ana"].could_take and agents["Carla"].could_take


def test_after_routing_ran_the_queue_is_empty_and_the_loads_grew(world: TwoWaitingThenAssigned) -> None:
    answer = state_as_of(world.floor.despacho.store, world.after, campaign_id=world.floor.campaign)

    assert answer.campaign is not None
    assert answer.campaign.queue == ()
    agents = agents_by_name(answer)
    assert (agents["Ana"].open_chats, agents["Ana"].candidacy) == (2, "full")
    assert (agents["Carla"].open_chats, agents["Carla"].candidacy) == (3, "full")


def test_a_chat_waiting_then_shows_no_agent_and_once_assigned_why_ana_got_it(world: TwoWaitingThenAssigned) -> None:
    store = world.floor.despacho.store
    waiting = state_as_of(store, world.before, chat_id=world.first).chat
    assigned = state_as_of(store, world.after, chat_id=world.first).chat

    assert waiting is not None and assigned is not None
    assert (waiting.status, waiting.agent_id, waiting.assignments) == ("waiting_queue", "", ())
    assert (waiting.customer_messages, waiting.campaign_id) == (1, world.floor.campaign)
    assert (assigned.status, assigned.agent_id, assigned.agent_name) == ("assigned", world.ana, "Ana")
    [decision] = assigned.assignments
    assert (decision.policy, decision.exceptional, decision.at) == ("least_load", False, world.after)
    loads = {c.name: (c.open_chats, c.capacity, c.status, c.chosen) for c in decision.candidates}
    assert loads == {"Ana": (1, 2, "available", True), "Carla": (2, 3, "available", False)}
    assert {m.name: m.candidacy for m in decision.members} == {
        "Ana": "can_take", "Carla": "can_take", "Bruno": "unavailable"}


def test_the_second_chat_went_to_carla_because_ana_was_full_by_then(world: TwoWaitingThenAssigned) -> None:
    chat = state_as_of(world.floor.despacho.store, world.after, chat_id=world.second).chat

    assert chat is not None
    [decision] = chat.assignments
    assert [(c.name, c.open_chats, c.chosen) for c in decision.candidates] == [("Carla", 2, True)]
    assert {m.name: (m.open_chats, m.candidacy) for m in decision.members}["Ana"] == (2, "full")


def test_a_chat_asked_about_before_it_existed_is_none_and_its_campaign_unknown(
        world: TwoWaitingThenAssigned) -> None:
    answer = state_as_of(world.floor.despacho.store, world.before - timedelta(hours=1), chat_id=world.first)

    assert (answer.chat, answer.campaign, answer.position) == (None, None, 0)


def test_a_malformed_chat_id_is_refused(world: TwoWaitingThenAssigned) -> None:
    with pytest.raises(DomainError, match="Identificador de chat inválido"):
        state_as_of(world.floor.despacho.store, world.after, chat_id="no-es-un-id")


def lookups(despacho: Despacho) -> list[AuditLookup.Looked]:
    return [event for _, event in read_log(despacho.store) if isinstance(event, AuditLookup.Looked)]


def test_every_lookup_is_recorded_with_who_asked_what_and_when(world: TwoWaitingThenAssigned) -> None:
    despacho = world.floor.despacho
    machine = TimeMachine(despacho.store, despacho.clock)

    answer = machine.look(world.before, campaign_id=world.floor.campaign, chat_id=world.first,
                          actor="user:auditor-1", through="page")

    assert answer.campaign is not None and len(answer.campaign.queue) == 2
    [looked] = lookups(despacho)
    assert (looked.actor, looked.through, looked.os_user) == ("user:auditor-1", "page", "")
    assert (looked.instant, looked.campaign_id, looked.chat_id) == (world.before, world.floor.campaign, world.first)
    assert looked.at == despacho.clock.now()
    # The lookup is itself in the log, after the instant it asked about: the past it showed does not change.
    assert machine.look(world.before, campaign_id=world.floor.campaign, actor="user:auditor-1",
                        through="page").campaign == answer.campaign


def test_the_command_shows_the_queue_and_the_decision_in_spanish_and_records_the_os_user(
        world: TwoWaitingThenAssigned) -> None:
    runner = CliRunner()

    before = runner.invoke(despacho_cli, ["audit", "as-of", world.before.isoformat(), "--campaign", "banco_a"])
    after = runner.invoke(despacho_cli, ["audit", "as-of", world.after.isoformat(), "--chat", world.first])

    assert before.exit_code == 0, before.output
    assert "Cola: 2 chat(s) en espera" in before.output
    assert f"1. chat {world.first}, en cola desde" in before.output
    assert "Ana: Disponible desde" in before.output and "1/2 chats, podía recibir chats" in before.output
    assert "Bruno: En pausa (Almuerzo)" in before.output
    assert after.exit_code == 0, after.output
    assert "Asignado a Ana el" in after.output and "menor carga" in after.output
    assert "candidato Ana: 1/2 chats, Disponible [elegido]" in after.output
    assert "candidato Carla: 2/3 chats, Disponible\n" in after.output
    assert [(e.through, e.os_user, e.actor) for e in lookups(world.floor.despacho)] == [
        ("cli", getpass.getuser(), "system:cli")] * 2


def test_the_command_answers_in_json_with_codes_and_iso_instants(world: TwoWaitingThenAssigned) -> None:
    result = CliRunner().invoke(despacho_cli, ["audit", "as-of", world.before.isoformat(), "--campaign",
                                               world.floor.campaign, "--chat", world.first, "--json"])

    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert [q["chat_id"] for q in answer["campaign"]["queue"]] == [world.first, world.second]
    assert answer["chat"]["status"] == "waiting_queue"
    assert answer["instant"] == world.before.isoformat()


def test_the_command_refuses_an_instant_without_its_zone(world: TwoWaitingThenAssigned) -> None:
    result = CliRunner().invoke(despacho_cli, ["audit", "as-of", "2026-11-02T09:00:00"])

    assert result.exit_code == 2
    assert "zona horaria" in result.output
