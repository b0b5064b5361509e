"""Read-side queries of the admin pages: one campaign, one agent, imports and their progress, customers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from domain.documents import DEFAULT_DOCUMENT_TYPE
from projections.queries import AGENTS, CAMPAIGNS, PORTFOLIOS

JOB_PROGRESS = {"queued": 10, "running": 40, "done": 75, "failed": 100}


def campaign_row(engine: Engine, campaign_id: str) -> dict[str, Any] | None:
    table, senders = CAMPAIGNS.campaigns, CAMPAIGNS.senders
    with engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == campaign_id)).mappings().first()
        if row is None:
            return None
        linked = connection.execute(select(senders).where(senders.c.campaign_id == campaign_id)
                                    .order_by(senders.c.channel, senders.c.address)).mappings().all()
    return {**row, "senders": [dict(s) for s in linked]}


def campaign_without_agents(engine: Engine, campaign_id: str | None) -> dict[str, Any] | None:
    """The campaign (id, code, name) while no active agent belongs to it; None once one does."""
    campaigns, agents, members = CAMPAIGNS.campaigns, AGENTS.agents, AGENTS.memberships
    staffed = (select(members.c.agent_id).join(agents, agents.c.id == members.c.agent_id)
               .where(members.c.campaign_id == campaign_id, agents.c.role == "agent", agents.c.active.is_(True)))
    with engine.connect() as connection:
        row = connection.execute(select(campaigns.c.id, campaigns.c.code, campaigns.c.name)
                                 .where(campaigns.c.id == campaign_id, ~staffed.exists())).mappings().first()
    return dict(row) if row else None


def agent_row(engine: Engine, agent_id: str) -> dict[str, Any] | None:
    table, members = AGENTS.agents, AGENTS.memberships
    with engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == agent_id)).mappings().first()
        if row is None:
            return None
        campaigns = connection.execute(select(members.c.campaign_id).where(members.c.agent_id == agent_id)).scalars()
        return {**row, "campaigns": sorted(campaigns)}


def membership_history(engine: Engine, agent_id: str, limit: int = 20) -> list[dict[str, Any]]:
    history = AGENTS.history
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(
            select(history).where(history.c.agent_id == agent_id).order_by(history.c.at.desc()).limit(limit))
            .mappings()]


def portfolio_imports(engine: Engine, campaign_ids: set[str] | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Completed imports, newest first, with their campaign's name."""
    imports, campaigns = PORTFOLIOS.imports, CAMPAIGNS.campaigns
    query = (select(imports, campaigns.c.name.label("campaign_name"))
             .join(campaigns, campaigns.c.id == imports.c.campaign_id, isouter=True)
             .where(imports.c.completed_at.is_not(None))  # one still staging its chunks is not live yet
             .order_by(imports.c.started_at.desc()).limit(limit))
    if campaign_ids is not None:
        query = query.where(imports.c.campaign_id.in_(campaign_ids))
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def unfinished_or_failed_jobs(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    jobs, campaigns = PORTFOLIOS.jobs, CAMPAIGNS.campaigns
    query = (select(jobs, campaigns.c.name.label("campaign_name"))
             .join(campaigns, campaigns.c.id == jobs.c.campaign_id, isouter=True)
             .where(jobs.c.status != "done").order_by(jobs.c.queued_at.desc()).limit(limit))
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def job_progress(engine: Engine, job_id: str) -> dict[str, Any] | None:
    """A job's status and percentage: done only once its customers are in the read tables."""
    jobs, imports = PORTFOLIOS.jobs, PORTFOLIOS.imports
    with engine.connect() as connection:
        job = connection.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if job is None:
            return None
        imported = None
        if job["import_id"]:
            imported = connection.execute(select(imports).where(imports.c.id == job["import_id"])).mappings().first()
    completed = imported is not None and imported["completed_at"] is not None
    status = "completed" if completed else job["status"]
    return {**job, "status": status, "percent": 100 if completed else JOB_PROGRESS[job["status"]],
            "finished": completed or job["status"] == "failed"}


def queued_job(job_id: str) -> dict[str, Any]:
    """What to show for a job saved but not projected yet."""
    return {"id": job_id, "status": "queued", "percent": 0, "finished": False, "file_name": "", "counts": None,
            "error": None, "import_id": None}


def customers_with_document(engine: Engine, document_number: str,
                            document_type: str = DEFAULT_DOCUMENT_TYPE) -> list[dict[str, Any]]:
    """Active customers with this document, in every campaign (what the bot finds)."""
    customers = PORTFOLIOS.customers
    query = select(customers.c.campaign_id, customers.c.document_type, customers.c.full_name).where(
        customers.c.document_number == document_number, customers.c.document_type == document_type,
        customers.c.active.is_(True))
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]
