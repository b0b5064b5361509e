"""Liveness for load balancers and process supervisors."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import ProjectionsDep, SettingsDep
from api.security import public

router = APIRouter(tags=["health"])


@router.get("/healthz", dependencies=[Depends(public())])
def health(settings: SettingsDep, projections: ProjectionsDep) -> dict[str, object]:
    """Process is up; reports each projector's lag behind the event log."""
    return {"status": "ok", "mode": settings.mode, "projections": {s.name: s.lag for s in projections.status()}}
