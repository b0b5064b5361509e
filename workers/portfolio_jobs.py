"""The portfolio import actor: runs a confirmed upload's import outside the HTTP request."""

from __future__ import annotations

import logging
from uuid import UUID

import dramatiq

from application.portfolios import PortfolioService

log = logging.getLogger(__name__)


def declare_portfolio_actors(broker: dramatiq.Broker, portfolios: PortfolioService) -> dramatiq.Actor:  # type: ignore[type-arg]
    def import_portfolio(job_id: str) -> None:
        """Import a queued upload; a retry of a finished job does nothing."""
        log.info("portfolio job %s: %s", job_id, portfolios.run_job(UUID(job_id)))

    return dramatiq.Actor(import_portfolio, broker=broker, actor_name="import_portfolio", queue_name="portfolios",
                          priority=10, options={"max_retries": 3, "time_limit": 15 * 60_000})
