"""Prometheus `/metrics` (see api/prometheus.py for what it holds and who may read it)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.responses import Response

from api.deps import ClockDep, ProjectionsDep, ReadDb
from api.prometheus import metrics_scrape, registry_for

router = APIRouter(tags=["operations"])


@router.get("/metrics", dependencies=[Depends(metrics_scrape())], include_in_schema=False)
async def metrics(request: Request, read_db: ReadDb, clock: ClockDep, projections: ProjectionsDep) -> Response:
    registry: CollectorRegistry | None = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = registry_for(read_db, clock, projections)
    return Response(await run_in_threadpool(generate_latest, registry), media_type=CONTENT_TYPE_LATEST)
