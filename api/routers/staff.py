"""Staff API: admins (and supervisors within their campaigns) manage agents."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from api.deps import CampaignsDep, ReadDb, StaffDep
from api.security import allow
from application.staff import Identity, may_manage
from projections.admin_queries import agent_row
from projections.queries import list_agents

router = APIRouter(prefix="/api/agents", tags=["agents"])
MANAGERS = allow("admin", "supervisor")


class AgentCreate(BaseModel):
    login: str = Field(min_length=3, max_length=40)
    name: str = Field(min_length=1, max_length=120)
    role: str = Field(default="agent", pattern="^(admin|supervisor|agent|auditor)$")
    capacity: int = Field(default=5, ge=1, le=50)
    password: str = Field(min_length=10, max_length=200)
    campaign_ids: list[UUID] = Field(default_factory=list)


class AgentUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    role: str = Field(pattern="^(admin|supervisor|agent|auditor)$")
    capacity: int = Field(ge=1, le=50)
    campaign_ids: list[UUID] = Field(default_factory=list)


class AgentRef(BaseModel):
    id: UUID


class StatusChange(BaseModel):
    status: str = Field(pattern="^(available|break|offline)$")
    reason: str = Field(default="", max_length=40, description="A break's reason, one of the agent's campaigns' list")


class SessionsTerminated(BaseModel):
    terminated: int


def check_scope(identity: Identity, roles: set[str], before: set[str], after: set[str]) -> None:
    """Supervisors manage only agents, and only within the campaigns they supervise."""
    if not may_manage(identity, roles, frozenset(before), frozenset(after)):
        raise HTTPException(status_code=403, detail="Solo puede gestionar asesores de sus campañas")


@router.get("")
def agents(read_db: ReadDb, identity: Annotated[Identity, Depends(allow("admin", "supervisor", "auditor"))],
           role: str | None = None) -> list[dict[str, Any]]:
    """Staff with their campaigns, status and load (supervisors: their campaigns only)."""
    rows = list_agents(read_db, role=role)
    if identity.role == "supervisor":
        rows = [r for r in rows if set(r["campaigns"]) & identity.campaigns]
    return rows


@router.get("/{agent_id}")
def agent(agent_id: UUID, read_db: ReadDb,
          identity: Annotated[Identity, Depends(allow("admin", "supervisor", "auditor"))]) -> dict[str, Any]:
    """One staff member with their campaigns, status and load."""
    row = agent_row(read_db, str(agent_id))
    if row is None or (identity.role == "supervisor" and not set(row["campaigns"]) & identity.campaigns):
        raise HTTPException(status_code=404, detail="Usuario desconocido")
    return row


@router.post("", status_code=201, response_model=AgentRef,
             responses={404: {"description": "Una de las campañas no existe"}})
def create_agent(body: AgentCreate, staff: StaffDep, campaigns: CampaignsDep,
                 identity: Annotated[Identity, Depends(MANAGERS)]) -> AgentRef:
    """Create a staff account with its campaigns."""
    campaign_ids = {str(c) for c in body.campaign_ids}
    check_scope(identity, {body.role}, set(), campaign_ids)
    for campaign_id in body.campaign_ids:
        campaigns.get(campaign_id)
    agent_id = staff.register(body.login, body.name, body.role, password=body.password, capacity=body.capacity,
                              campaign_ids=frozenset(campaign_ids), actor=f"user:{identity.id}")
    return AgentRef(id=agent_id)


@router.put("/{agent_id}", status_code=204)
def edit_agent(agent_id: UUID, body: AgentUpdate, staff: StaffDep, campaigns: CampaignsDep,
               identity: Annotated[Identity, Depends(MANAGERS)]) -> None:
    """Edit name, role, capacity and campaigns (removing a campaign stops new assignments at once)."""
    current = staff.get(agent_id)
    campaign_ids = {str(c) for c in body.campaign_ids}
    check_scope(identity, {current.role, body.role}, set(current.campaigns), campaign_ids)
    for campaign_id in body.campaign_ids:
        campaigns.get(campaign_id)
    staff.edit(agent_id, name=body.name, role=body.role, capacity=body.capacity,
               campaign_ids=frozenset(campaign_ids), actor=f"user:{identity.id}")


@router.post("/{agent_id}/deactivate", status_code=204)
def deactivate_agent(agent_id: UUID, staff: StaffDep, identity: Annotated[Identity, Depends(MANAGERS)]) -> None:
    """Deactivate an account: no login, no new chats."""
    agent = staff.get(agent_id)
    check_scope(identity, {agent.role}, set(), set(agent.campaigns))
    staff.set_active(agent_id, False, actor=f"user:{identity.id}")


@router.post("/{agent_id}/reactivate", status_code=204)
def reactivate_agent(agent_id: UUID, staff: StaffDep, identity: Annotated[Identity, Depends(MANAGERS)]) -> None:
    """Reactivate a deactivated account."""
    agent = staff.get(agent_id)
    check_scope(identity, {agent.role}, set(), set(agent.campaigns))
    staff.set_active(agent_id, True, actor=f"user:{identity.id}")


@router.put("/me/status", status_code=204)
def change_my_status(body: StatusChange, request: Request, staff: StaffDep,
                     identity: Annotated[Identity, Depends(allow("agent"))]) -> None:
    """The calling agent sets themself available, on a break (with its reason) or offline."""
    staff.change_status(UUID(identity.id), body.status, reason=body.reason, session_id=request.state.session_id,
                        actor=f"user:{identity.id}")


@router.post("/{agent_id}/sessions/terminate", response_model=SessionsTerminated)
def terminate_sessions(agent_id: UUID, staff: StaffDep,
                       identity: Annotated[Identity, Depends(allow("admin"))]) -> SessionsTerminated:
    """Close every open session of a user at once (reason `terminated`): their cookie and tokens stop working."""
    staff.get(agent_id)
    return SessionsTerminated(terminated=staff.terminate_sessions(agent_id, actor=f"user:{identity.id}"))
