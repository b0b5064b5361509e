"""Prometheus `/metrics` with the official `prometheus_client`.

The gauges are read from the read tables at scrape time by a custom collector, so every API process behind a
load balancer answers the same figures: queue length and longest wait per campaign (by its code), each
projector's and follower's position and lag behind the event log, outbound messages that ended failed or
undelivered per campaign and error category. The webhook latency histogram is this process's own (each API
process is scraped as its own target). Access: a bearer token (DESPACHO_METRICS_TOKEN) when one is configured;
without one, embedded mode answers only the local machine and production refuses.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import HTTPException, Request
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.responses import Response

from adapters.clock import Clock
from api.deps import SettingsDep
from api.security import ACCESS_MARK
from projections.operations_queries import queues, send_failures
from projections.runner import ProjectionRunner

WEBHOOK_LATENCY = Histogram(
    "despacho_webhook_latency_seconds", "Time to answer Twilio's webhooks, per route (this process only)",
    ["route"], registry=None, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))


class ReadSideCollector(Collector):
    """Figures of the shared read tables, computed at each scrape."""

    def __init__(self, engine: Engine, clock: Clock, runner: ProjectionRunner) -> None:
        self.engine = engine
        self.clock = clock
        self.runner = runner

    def collect(self) -> Iterator[Metric]:
        yield from self._queues()
        yield from self._projections()
        failures = CounterMetricFamily(
            "despacho_outbound_send_failures", "Outbound messages that ended failed or undelivered",
            labels=["campaign", "category"])
        for (campaign, category), count in send_failures(self.engine).items():
            failures.add_metric([campaign, category], count)
        yield failures

    def _queues(self) -> Iterator[Metric]:
        length = GaugeMetricFamily("despacho_queue_length", "Chats waiting for an agent", labels=["campaign"])
        longest = GaugeMetricFamily("despacho_queue_longest_wait_seconds",
                                    "How long the first chat still waiting has waited", labels=["campaign"])
        for queue in queues(self.engine, self.clock.now()):
            length.add_metric([queue.campaign], queue.waiting)
            longest.add_metric([queue.campaign], queue.longest_wait_seconds)
        yield from (length, longest)

    def _projections(self) -> Iterator[Metric]:
        statuses = self.runner.status()
        head = GaugeMetricFamily("despacho_event_log_head", "Position of the newest event in the log")
        head.add_metric([], statuses[0].head if statuses else self.runner.head())
        position = GaugeMetricFamily("despacho_projection_position",
                                     "Last event each projector or follower applied", labels=["projector"])
        lag = GaugeMetricFamily("despacho_projection_lag_events",
                                "Events each projector or follower has still to apply", labels=["projector"])
        for status in statuses:
            position.add_metric([status.name], status.position)
            lag.add_metric([status.name], status.lag)
        yield from (head, position, lag)


def registry_for(engine: Engine, clock: Clock, runner: ProjectionRunner) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReadSideCollector(engine, clock, runner))
    registry.register(WEBHOOK_LATENCY)
    return registry


class TimedWebhookRoute(APIRoute):
    """A route whose answers are timed into the webhook latency histogram, labelled by its path."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        observed = WEBHOOK_LATENCY.labels(route=self.path)

        async def timed(request: Request) -> Response:
            started = time.perf_counter()
            try:
                return await handler(request)
            finally:
                observed.observe(time.perf_counter() - started)

        return timed


def metrics_scrape() -> Callable[[Request, SettingsDep], None]:
    """Access rule of `/metrics`: the configured bearer token; without one, embedded mode's local machine only."""

    def check(request: Request, settings: SettingsDep) -> None:
        if settings.metrics_token is not None:
            given = request.headers.get("authorization", "")
            expected = settings.metrics_token.get_secret_value()
            if not (given[:7].lower() == "bearer " and hmac.compare_digest(given[7:].strip(), expected)):
                raise HTTPException(status_code=401, detail="Token de métricas inválido",
                                    headers={"WWW-Authenticate": "Bearer"})
            return
        if not settings.is_embedded:
            raise HTTPException(status_code=403, detail="Las métricas exigen DESPACHO_METRICS_TOKEN en producción")
        if not _is_local(request):
            raise HTTPException(status_code=403, detail="Sin DESPACHO_METRICS_TOKEN, las métricas solo se sirven "
                                                        "a este equipo")

    setattr(check, ACCESS_MARK, ("metrics", ()))
    return check


def _is_local(request: Request) -> bool:
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False
