"""The composition root: the one place that builds settings, stores, services and adapters.

The API, the workers, the CLI and the tests all get their dependencies from `build()`;
nothing connects to a database or a broker at import time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from sqlalchemy import Engine

from adapters.clock import Clock, SystemClock
from adapters.event_store import eventsourcing_env
from adapters.live import InMemoryLiveFeed, LiveFeed, RedisLiveFeed
from adapters.passwords import Argon2Passwords
from adapters.read_store import make_read_engine
from application.campaigns import CampaignService
from application.ports import PasswordHasher
from application.staff import StaffService
from application.store import EventStore
from despacho.settings import Settings
from projections.agents import AgentsProjector
from projections.base import Projector
from projections.campaigns import CampaignsProjector
from projections.chats import ChatsProjector
from projections.portfolios import PortfoliosProjector
from projections.runner import ProjectionRunner
from workers.actors import Actors, declare_actors
from workers.broker import make_broker

log = logging.getLogger(__name__)


def all_projectors(suffix: str = "") -> list[Projector]:
    return [CampaignsProjector(suffix), AgentsProjector(suffix), PortfoliosProjector(suffix),
            ChatsProjector(suffix)]


@dataclass
class Despacho:
    settings: Settings
    clock: Clock
    store: EventStore
    read_engine: Engine
    runner: ProjectionRunner
    live: LiveFeed
    campaigns: CampaignService
    staff: StaffService
    broker: dramatiq.Broker
    actors: Actors = field(init=False)
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.actors = declare_actors(self.broker, self)

    def close(self) -> None:
        self.broker.close()
        self.read_engine.dispose()
        self.store.close()


def build(settings: Settings | None = None, *, clock: Clock | None = None,
          passwords: PasswordHasher | None = None) -> Despacho:
    settings = settings or Settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    clock = clock or SystemClock()
    store = EventStore(env={**eventsourcing_env(settings.event_store_url), "AGGREGATE_CACHE_MAXSIZE": "5000"})
    read_engine = make_read_engine(settings.read_store_url)
    live: LiveFeed = RedisLiveFeed(settings.redis_url) if settings.redis_url else InMemoryLiveFeed()
    runner = ProjectionRunner(store, read_engine, all_projectors(), batch_size=settings.projection_batch_size,
                              publish=live.publish)
    runner.create_tables()
    passwords = passwords or Argon2Passwords()
    return Despacho(
        settings=settings, clock=clock, store=store, read_engine=read_engine, runner=runner, live=live,
        campaigns=CampaignService(store, clock), staff=StaffService(store, clock, passwords),
        broker=make_broker(settings.redis_url),
    )
