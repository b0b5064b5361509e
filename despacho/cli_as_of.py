"""`despacho audit as-of`: a campaign's queue, its agents and a chat as they were at an instant, from the log,
in Spanish with times in the campaign's time zone (or JSON); the lookup is recorded like the page's."""

from __future__ import annotations

import dataclasses
import getpass
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID
from zoneinfo import ZoneInfo

import click

from domain.labels import ASSIGNMENT_EXPLANATIONS, label

if TYPE_CHECKING:
    from application.as_of import AgentThen, AsOf, AssignmentThen, ChatThen
    from despacho.bootstrap import Despacho

DEFAULT_TIME_ZONE = "America/Bogota"
When = Callable[[datetime | None], str]


@click.command("as-of")
@click.argument("instant")
@click.option("--campaign", "campaign", default="", help="Código o identificador de la campaña.")
@click.option("--chat", "chat_id", default="", help="Identificador del chat.")
@click.option("--actor", "actor_login", default="", help="Usuario de Despacho que consulta (por defecto, el del "
                                                          "sistema operativo queda registrado).")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON (códigos e instantes ISO 8601).")
def as_of(instant: str, campaign: str, chat_id: str, actor_login: str, as_json: bool) -> None:
    """Estado de la cola, los asesores y un chat en un instante pasado (ISO 8601 con zona), leído del log."""
    from despacho.bootstrap import build
    from despacho.cli_timers import instant_option
    from domain.common import DomainError

    at = instant_option(instant)
    if at is None:
        raise click.UsageError("indique el instante")
    despacho = build()
    try:
        answer = despacho_look(despacho, at, campaign, chat_id, actor_login)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        despacho.close()
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(answer), default=_iso, ensure_ascii=False, indent=2))
        return
    for line in describe(answer):
        click.echo(line)


def despacho_look(despacho: Despacho, at: datetime, campaign: str, chat_id: str, actor_login: str) -> AsOf:
    from application.as_of import TimeMachine

    return TimeMachine(despacho.store, despacho.clock).look(
        at, campaign_id=_campaign_id(despacho, campaign), chat_id=chat_id, actor=_actor(despacho, actor_login),
        through="cli", os_user=getpass.getuser())


def _campaign_id(despacho: Despacho, campaign: str) -> str:
    if not campaign.strip():
        return ""
    try:
        return str(UUID(campaign.strip()))
    except ValueError:
        return str(despacho.campaigns.id_for_code(campaign))


def _actor(despacho: Despacho, login: str) -> str:
    from application.store import aggregate_or
    from domain.agents import Agent
    from domain.common import DomainError, actor_for_user

    if not login.strip():
        return "system:cli"
    agent = aggregate_or(despacho.store, str(Agent.create_id(login.strip())), Agent,
                         DomainError("Usuario desconocido: %(login)s", login=login.strip()))
    return actor_for_user(agent.id)


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def describe(answer: AsOf) -> Iterator[str]:
    zone = ZoneInfo(answer.campaign.time_zone if answer.campaign else DEFAULT_TIME_ZONE)

    def when(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else "—"

    yield (f"Estado al {when(answer.instant)} ({zone.key}), hasta el evento {answer.position} del log"
           if answer.position else f"Al {when(answer.instant)} ({zone.key}) el log aún no tenía eventos")
    if answer.campaign_id and answer.campaign is None:
        yield "La campaña aún no existía en ese instante."
    if answer.campaign is not None:
        campaign = answer.campaign
        yield (f"Campaña {campaign.name} ({campaign.code}), asignación por "
               f"{label('routing_policy', campaign.routing_policy).lower()}")
        yield f"Cola: {len(campaign.queue)} chat(s) en espera"
        for queued in campaign.queue:
            yield f"  {queued.place}. chat {queued.chat_id}, en cola desde {when(queued.waiting_since)}"
        yield f"Asesores: {len(campaign.agents)}"
        for agent in campaign.agents:
            yield "  " + _agent_line(agent, when)
    if answer.chat_id and answer.chat is None:
        yield f"El chat {answer.chat_id} aún no existía en ese instante."
    if answer.chat is not None:
        yield from _chat_lines(answer.chat, when)


def _agent_line(agent: AgentThen, when: When) -> str:
    status = label("agent_status", agent.status)
    if agent.status_reason:
        status += f" ({label('break_reason', agent.status_reason)})"
    since = f" desde {when(agent.status_since)}" if agent.status_since else ""
    taking = label("candidacy", agent.candidacy).lower()
    return f"{agent.name}: {status}{since}, {agent.open_chats}/{agent.capacity} chats, {taking}"


def _chat_lines(chat: ChatThen, at: When) -> Iterator[str]:
    owner = f", asesor {chat.agent_name}" if chat.agent_id else ""
    yield f"Chat {chat.chat_id}: {label('chat_status', chat.status)}{owner}"
    yield f"  abierto {at(chat.opened_at)}, en cola desde {at(chat.queued_at)}"
    yield (f"  mensajes del cliente: {chat.customer_messages} (último {at(chat.last_customer_message_at)}); "
           f"del asesor: {chat.agent_messages} (último {at(chat.last_agent_message_at)})")
    if chat.closed_at:
        yield f"  cerrado {at(chat.closed_at)}: {label('close_reason', chat.close_reason)}"
    for assignment in chat.assignments:
        yield from _assignment_lines(assignment, at)


def _assignment_lines(assignment: AssignmentThen, at: When) -> Iterator[str]:
    yield (f"  Asignado a {assignment.agent_name} el {at(assignment.at)} (evento {assignment.position}): "
           f"{explanation(assignment)}")
    for candidate in assignment.candidates:
        mark = " [elegido]" if candidate.chosen else ""
        yield (f"    candidato {candidate.name}: {candidate.open_chats}/{candidate.capacity} chats, "
               f"{label('agent_status', candidate.status)}{mark}")
    named = {c.agent_id for c in assignment.candidates}
    for member in assignment.members:
        if member.agent_id not in named:
            yield "    no candidato " + _agent_line(member, at)


def explanation(assignment: AssignmentThen) -> str:
    """Why the chosen one: the policy's rule over the candidates, or the person's reason for a manual one."""
    if assignment.exceptional:
        return f"asignación manual desde la cola: {assignment.reason}"
    text = ASSIGNMENT_EXPLANATIONS.get(assignment.policy, ASSIGNMENT_EXPLANATIONS["round_robin"])
    return text % {"count": len(assignment.candidates)}
