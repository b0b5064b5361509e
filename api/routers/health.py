"""Liveness for load balancers and process supervisors."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import DespachoDep
from api.security import public

router = APIRouter(tags=["health"])


@router.get("/healthz", dependencies=[Depends(public())])
def health(despacho: DespachoDep) -> dict[str, object]:
    """Process is up; reports each projector's lag behind the event log."""
    return {"status": "ok", "mode": despacho.settings.mode,
            "projections": {s.name: s.lag for s in despacho.runner.status()}}
