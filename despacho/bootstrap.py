"""The composition root: the one place that builds settings, stores, services and adapters.

The API, the workers, the CLI and the tests all get their dependencies from `build()`;
nothing connects to a database or a broker at import time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import dramatiq
from eventsourcing.persistence import PersistenceError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from adapters.clock import Clock, SystemClock
from adapters.event_store import eventsourcing_env, stored_events_of
from adapters.file_links import LinkedFile, SignedFileLinks
from adapters.file_storage import FileStorage, LocalFileStorage, make_s3_storage
from adapters.flow_files import FlowCatalog
from adapters.live import InMemoryLiveFeed, LiveFeed, RedisLiveFeed
from adapters.login_limits import MovingWindowLoginLimits
from adapters.passwords import Argon2Passwords
from adapters.portfolio_files import stream_table
from adapters.read_store import make_read_engine
from adapters.token_buckets import InProcessTokenBuckets, RedisTokenBuckets
from adapters.transcript_source import TranscriptMaker
from application.broadcasts import BroadcastService
from application.campaigns import CampaignService
from application.canned_replies import CannedReplyService
from application.closing import ClosingService
from application.conversations import ConversationService
from application.delivery_monitor import DeliveryMonitor, DeliveryThresholds
from application.desk import DeskService
from application.follow_ups import FollowUpPolicy
from application.inbound import InboundService
from application.logins import LoginService
from application.media import InboundMediaService, MediaSource
from application.offline_agents import OfflineAgentChats
from application.outbound import OutboundService
from application.portfolios import PortfolioService
from application.ports import PasswordHasher, RiskLevels, Transport
from application.risk import RiskMonitor
from application.routing import AssignmentService
from application.staff import StaffService
from application.store import AUTHORITATIVE_CACHE, EventStore
from application.throttle import Throttle, ThrottleSettings
from application.timers import TimerService
from application.transfers import CampaignTransfers
from despacho.settings import Settings
from domain.campaigns import CampaignError
from domain.chats import Chat
from domain.throttling import CustomerCaps, SenderRates
from projections.agents import AgentsProjector
from projections.attendance import AttendanceProjector
from projections.base import Projector
from projections.bot_world import SqlBotWorld, campaign_of_sender, flow_for_sender
from projections.broadcast_queries import PaceRiskLevels, SqlBroadcastAudience
from projections.broadcasts import BroadcastsProjector
from projections.campaigns import CampaignsProjector
from projections.canned_replies import CannedRepliesProjector
from projections.chats import ChatsProjector
from projections.desk_queries import portfolio_name
from projections.follow_ups import FollowUpLedger, FollowUpsFollower
from projections.inbound_attachments import InboundFollower
from projections.media import MediaProjector
from projections.message_queries import SqlBusinessMessageCounts, SqlDeliveryDirectory
from projections.messages import MessagesProjector
from projections.metric_facts import MetricsProjector
from projections.portfolio_directory import SqlCustomerDirectory
from projections.portfolios import PortfoliosProjector
from projections.queries import SqlOfflineDirectory
from projections.risk import RiskProjector
from projections.risk_queries import SqlRiskDirectory
from projections.routing import RoutingFollower, SqlRoutingState
from projections.runner import ProjectionRunner
from projections.timer_directory import SqlTimerDirectory
from workers.actors import Actors, ActorServices, declare_actors
from workers.broadcast_jobs import BroadcastActors, declare_broadcast_actors
from workers.broker import make_broker
from workers.follow_up_delivery import SettleFollowUps, hand_out
from workers.media_jobs import declare_media_actors
from workers.portfolio_jobs import declare_portfolio_actors

log = logging.getLogger(__name__)


def all_projectors(suffix: str = "", *, routing: RoutingFollower | None = None,
                   risk: RiskProjector | None = None) -> list[Projector]:
    """Every read model the log rebuilds, the routing follower's and the risk judge's views included (`routing`,
    `risk`: the live ones)."""
    return [routing or RoutingFollower(suffix), CampaignsProjector(suffix), AgentsProjector(suffix),
            PortfoliosProjector(suffix), ChatsProjector(suffix), MessagesProjector(suffix), AttendanceProjector(suffix),
            MetricsProjector(suffix), risk or RiskProjector(suffix), MediaProjector(suffix),
            CannedRepliesProjector(suffix), BroadcastsProjector(suffix)]


@dataclass
class Despacho:
    settings: Settings
    clock: Clock
    store: EventStore
    read_engine: Engine
    runner: ProjectionRunner
    follow_up_ledger: FollowUpLedger
    live: LiveFeed
    campaigns: CampaignService
    staff: StaffService
    logins: LoginService
    transport: Transport
    inbound: InboundService
    outbound: OutboundService
    router: AssignmentService
    transfers: CampaignTransfers
    conversations: ConversationService
    closing: ClosingService
    desk: DeskService
    files: FileStorage
    timers: TimerService
    offline_agents: OfflineAgentChats
    portfolios: PortfolioService
    delivery: DeliveryMonitor
    unidentified: UnidentifiedQueue
    broker: dramatiq.Broker
    risk: RiskMonitor
    throttle: Throttle
    canned_replies: CannedReplyService
    media: InboundMediaService
    file_links: SignedFileLinks
    broadcasts: BroadcastService
    actors: Actors = field(init=False)
    broadcast_actors: BroadcastActors = field(init=False)
    import_portfolio: dramatiq.Actor = field(init=False)  # type: ignore[type-arg]
    keep_attachments: dramatiq.Actor = field(init=False)  # type: ignore[type-arg]
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.actors = declare_actors(self.broker, ActorServices(
            clock=self.clock, read_engine=self.read_engine, follow_up_ledger=self.follow_up_ledger, staff=self.staff,
            conversations=self.conversations, outbound=self.outbound, delivery=self.delivery, closing=self.closing,
            timers=self.timers, offline_agents=self.offline_agents, router=self.router,
            unidentified_campaign_id=self.unidentified.campaign_id_if_exists,
            redeliver_after=timedelta(seconds=self.settings.follow_up_redelivery_seconds)))
        self.import_portfolio = declare_portfolio_actors(self.broker, self.portfolios)
        self.keep_attachments = declare_media_actors(self.broker, self.media)
        self.broadcast_actors = declare_broadcast_actors(self.broker, self.broadcasts)

    def close(self) -> None:
        self.broker.close()
        self.read_engine.dispose()
        self.store.close()


def build(settings: Settings | None = None, *, clock: Clock | None = None,
          passwords: PasswordHasher | None = None, transport: Transport | None = None) -> Despacho:
    settings = settings or Settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    clock = clock or SystemClock()
    store = _racing_other_processes(lambda: EventStore(env={
        **eventsourcing_env(settings.event_store_url, settings.db_pool), "AGGREGATE_CACHE_MAXSIZE": "5000",
        AUTHORITATIVE_CACHE: "y" if _one_writer(settings) else "n"}, events_of=stored_events_of))
    read_engine = make_read_engine(settings.read_store_url, settings.db_pool)
    live: LiveFeed = RedisLiveFeed(settings.redis_url) if settings.redis_url else InMemoryLiveFeed()
    broker = make_broker(settings.redis_url)
    follow_ups = FollowUpsFollower(policy=FollowUpPolicy(fake_delivery_seconds=_fake_delivery_seconds(settings)),
                                   deliver=lambda handouts: hand_out(broker, handouts))
    routing = RoutingFollower()
    risk_projector = RiskProjector()
    inbound_follower = InboundFollower(engine=read_engine)
    projectors = all_projectors(routing=routing, risk=risk_projector)
    runner = ProjectionRunner(store, read_engine, [follow_ups, inbound_follower, *projectors],
                              batch_size=settings.projection_batch_size, publish=live.publish)
    _racing_other_processes(runner.create_tables)
    ledger = FollowUpLedger(read_engine, follow_ups)
    broker.add_middleware(SettleFollowUps(ledger))
    passwords = passwords or Argon2Passwords()
    flows = FlowCatalog.from_directory(settings.flows_dir)
    campaigns = CampaignService(store, clock, flow_names=flows.names())
    staff = StaffService(store, clock, passwords, session_idle=timedelta(minutes=settings.session_idle_minutes))
    login_limits = MovingWindowLoginLimits(settings.redis_url or "memory://",
                                           per_account=settings.login_failures_per_account,
                                           per_address=settings.login_failures_per_address)
    transport = transport or make_transport(settings)
    # The pace reads the judge's level, held at critical until an admin resumes the sender's proactive sends.
    throttle = make_throttle(settings, clock, read_engine, PaceRiskLevels(read_engine))
    file_links = SignedFileLinks(settings.secret_key.get_secret_value(), settings.public_url, clock)
    outbound = OutboundService(store, clock, transport, settings.public_url,
                               lambda sender: campaign_of_sender(read_engine, sender), throttle,
                               file_link=lambda file: file_links.url_for(LinkedFile(**file)))
    router = AssignmentService(store, clock, SqlRoutingState(read_engine, routing),
                               manual_assignment_allowed=lambda: settings.allow_manual_assignment)
    routing.on_change = router.dispatch
    risk = RiskMonitor(store, clock, SqlRiskDirectory(read_engine), settings.portfolios(),
                       SenderRates(settings.sender_rates))
    risk_projector.on_change = risk.judge
    risk_projector.on_idle = risk.judge
    unidentified = UnidentifiedQueue(campaigns, settings.unidentified_campaign_code)
    files = make_file_storage(settings)
    closing = ClosingService(store, clock, outbound, staff, make_transcript=TranscriptMaker(store, files),
                             undetermined_campaign=unidentified.campaign_id_if_exists)

    inbound = InboundService(store, clock, lambda sender: flow_for_sender(read_engine, sender), closing,
                             campaign_for_sender=lambda sender: campaign_of_sender(read_engine, sender),
                             opt_out_words=settings.opt_out_words, opt_in_words=settings.opt_in_words)
    inbound_follower.attach = inbound.attach

    def world_for(chat: Chat) -> SqlBotWorld:
        return SqlBotWorld(read_engine, chat.sender_address, unidentified.campaign_id_if_exists())

    return Despacho(
        settings=settings, clock=clock, store=store, read_engine=read_engine, runner=runner,
        follow_up_ledger=ledger, live=live,
        campaigns=campaigns, staff=staff, logins=LoginService(store, clock, staff, login_limits), transport=transport,
        inbound=inbound,
        outbound=outbound, router=router,
        transfers=CampaignTransfers(store, clock, staff, campaigns, SqlCustomerDirectory(read_engine)),
        conversations=ConversationService(store, clock, flows, world_for, outbound, closing, unidentified.campaign_id,
                                          lambda campaign, kind, number: portfolio_name(read_engine, campaign, kind,
                                                                                        number)),
        closing=closing, desk=DeskService(store, clock, outbound, staff, files), files=files, file_links=file_links,
        timers=TimerService(store, SqlTimerDirectory(read_engine), closing),
        offline_agents=OfflineAgentChats(store, SqlOfflineDirectory(read_engine)),
        portfolios=PortfolioService(store, clock, campaigns, settings.max_upload_megabytes * 1024 * 1024,
                                    stream_table=stream_table,
                                    customers=SqlCustomerDirectory(read_engine),
                                    uploads=files),
        delivery=DeliveryMonitor(store, clock, SqlDeliveryDirectory(read_engine), DeliveryThresholds(
            stuck_minutes=settings.delivery_stuck_minutes, window_minutes=settings.delivery_rate_window_minutes,
            min_messages=settings.delivery_rate_min_messages, max_failure_rate=settings.delivery_rate_threshold)),
        unidentified=unidentified, broker=broker, risk=risk, throttle=throttle,
        media=InboundMediaService(store, clock, make_media_source(settings), files),
        canned_replies=CannedReplyService(store, clock),
        broadcasts=BroadcastService(store, clock, SqlBroadcastAudience(read_engine), throttle.settings.rate_of),
    )


def make_throttle(settings: Settings, clock: Clock, read_engine: Engine, risk: RiskLevels) -> Throttle:
    """The outbound pace: buckets in Redis when there is one (every worker process shares them), else in memory."""
    buckets = RedisTokenBuckets(settings.redis_url) if settings.redis_url else InProcessTokenBuckets()
    return Throttle(buckets, risk, SqlBusinessMessageCounts(read_engine), clock, ThrottleSettings(
        account_key=settings.twilio_account_sid, sender_rates=settings.sender_rates,
        account_rate=settings.account_messages_per_second, high_risk_fraction=settings.high_risk_rate_fraction,
        caps=CustomerCaps(settings.customer_business_messages_per_day, settings.customer_business_messages_per_week)))


def _one_writer(settings: Settings) -> bool:
    """The embedded server on its SQLite file is the only process that changes existing aggregates, so what it
    cached is what the store holds; several API and worker processes (PostgreSQL) each need the store's word."""
    return settings.is_embedded and settings.event_store_url.startswith("sqlite")


def _fake_delivery_seconds(settings: Settings) -> float:
    """The embedded demo's stand-in for Twilio's status callbacks; never with the real transport."""
    return settings.fake_delivery_seconds if settings.twilio_transport == "fake" else 0


T = TypeVar("T")


def _racing_other_processes(create: Callable[[], T], attempts: int = 6) -> T:
    """Schema creation when several processes start at once: PostgreSQL may refuse the loser of a
    catalog race ("tuple concurrently updated", duplicate type); the tables exist by the retry."""
    for attempt in range(attempts):
        try:
            return create()
        except (PersistenceError, DBAPIError) as exc:
            if attempt == attempts - 1:
                raise
            log.warning("schema creation raced another process (%s); retrying", type(exc).__name__)
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


def make_file_storage(settings: Settings) -> FileStorage:
    """Credentials for S3 come from boto3's own chain (AWS_* variables, instance role), never from Despacho."""
    if settings.storage == "s3" and settings.s3_bucket:
        return make_s3_storage(settings.s3_bucket, settings.s3_endpoint_url, region_name=settings.s3_region,
                               prefix=settings.s3_prefix)
    return LocalFileStorage(settings.files_dir)


def make_transport(settings: Settings) -> Transport:
    from adapters.twilio_transport import FakeTransport, TwilioTransport

    if settings.twilio_transport == "fake":
        return FakeTransport()
    return TwilioTransport(settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value(),
                           api_base_url=settings.twilio_api_base_url)


def make_media_source(settings: Settings) -> MediaSource:
    """Attachments come from Twilio's API (or the local fake of it); the in-memory fake transport has neither."""
    from adapters.twilio_media import TwilioMediaSource, UnreachableMediaSource

    if settings.twilio_transport == "fake" and not settings.twilio_api_base_url:
        return UnreachableMediaSource()
    return TwilioMediaSource(settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value(),
                             api_base_url=settings.twilio_api_base_url)


class UnidentifiedQueue:
    """The campaign that holds chats the bot could not identify. Every process creates it when it starts
    (`ensure_exists`), so admins see it, and are warned while it has no agent, before the first such chat."""

    def __init__(self, campaigns: CampaignService, code: str) -> None:
        self.campaigns = campaigns
        self.code = code

    def campaign_id_if_exists(self) -> str | None:
        try:
            return str(self.campaigns.id_for_code(self.code))
        except CampaignError:
            return None

    def ensure_exists(self) -> None:
        self.campaign_id()

    def campaign_id(self) -> str:
        existing = self.campaign_id_if_exists()
        if existing:
            return existing
        try:
            return str(self.campaigns.register(self.code, "Clientes sin identificar", "Atención general", {},
                                               actor="system:bot"))
        except CampaignError:  # created meanwhile by another process
            return str(self.campaigns.id_for_code(self.code))
