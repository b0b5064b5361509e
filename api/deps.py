"""Request-scoped dependencies as `Annotated` aliases, one per resource, the way routers ask for them.

A router takes exactly the services it uses. Only this module and api/app.py know the composition
root's `Despacho`; tests may replace any one service with `app.dependency_overrides[get_…]`.
The getters only read an attribute, so they are `async def`: FastAPI runs a plain `def`
dependency in the thread pool, one hop per dependency per request for nothing.

Nothing that blocks runs on the event loop: a route that needs the posted form takes `PostedForm`
(read here, on the loop) and is itself a plain `def`, which FastAPI runs in the thread pool with
its service and database calls.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from starlette.datastructures import FormData

from adapters.clock import Clock
from adapters.file_links import SignedFileLinks
from adapters.file_storage import FileStorage
from adapters.live import LiveFeed
from api.templating import Pages
from application.as_of import TimeMachine
from application.broadcasts import BroadcastService
from application.campaigns import CampaignService
from application.canned_replies import CannedReplyService
from application.closing import ClosingService
from application.desk import DeskService
from application.inbound import InboundService
from application.logins import LoginService
from application.outbound import OutboundService
from application.portfolios import PortfolioService
from application.ports import Transport
from application.risk import RiskMonitor
from application.routing import AssignmentService
from application.staff import StaffService
from application.store import EventStore
from application.throttle import Throttle
from application.timers import TimerService
from application.transfers import CampaignTransfers
from despacho.bootstrap import Despacho
from despacho.settings import Settings
from projections.runner import ProjectionRunner


def _despacho(request: Request) -> Despacho:
    despacho: Despacho = request.app.state.despacho
    return despacho


async def get_pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


async def get_settings(request: Request) -> Settings:
    return _despacho(request).settings


async def get_clock(request: Request) -> Clock:
    return _despacho(request).clock


async def get_read_db(request: Request) -> Engine:
    """The read tables' engine, for the query modules under projections/."""
    return _despacho(request).read_engine


async def get_event_store(request: Request) -> EventStore:
    return _despacho(request).store


async def get_projections(request: Request) -> ProjectionRunner:
    return _despacho(request).runner


async def get_live(request: Request) -> LiveFeed:
    return _despacho(request).live


async def get_files(request: Request) -> FileStorage:
    return _despacho(request).files


async def get_file_links(request: Request) -> SignedFileLinks:
    return _despacho(request).file_links


async def get_transport(request: Request) -> Transport:
    return _despacho(request).transport


async def get_campaigns(request: Request) -> CampaignService:
    return _despacho(request).campaigns


async def get_staff(request: Request) -> StaffService:
    return _despacho(request).staff


async def get_logins(request: Request) -> LoginService:
    return _despacho(request).logins


async def get_inbound(request: Request) -> InboundService:
    return _despacho(request).inbound


async def get_outbound(request: Request) -> OutboundService:
    return _despacho(request).outbound


async def get_router(request: Request) -> AssignmentService:
    return _despacho(request).router


async def get_transfers(request: Request) -> CampaignTransfers:
    return _despacho(request).transfers


async def get_closing(request: Request) -> ClosingService:
    return _despacho(request).closing


async def get_desk(request: Request) -> DeskService:
    return _despacho(request).desk


async def get_canned_replies(request: Request) -> CannedReplyService:
    return _despacho(request).canned_replies


async def get_timers(request: Request) -> TimerService:
    return _despacho(request).timers


async def get_portfolios(request: Request) -> PortfolioService:
    return _despacho(request).portfolios


async def get_risk(request: Request) -> RiskMonitor:
    return _despacho(request).risk


async def get_throttle(request: Request) -> Throttle:
    return _despacho(request).throttle


async def get_broadcasts(request: Request) -> BroadcastService:
    return _despacho(request).broadcasts


async def get_time_machine(request: Request) -> TimeMachine:
    despacho = _despacho(request)
    return TimeMachine(despacho.store, despacho.clock)


async def get_posted_form(request: Request) -> FormData:
    """The posted form (and its files), read without blocking; Starlette keeps it for the CSRF check too."""
    return await request.form()


def get_unidentified_campaign_id(request: Request) -> str | None:
    """The unidentified queue's campaign id; a plain `def` (so in the thread pool): it reads the event store."""
    return _despacho(request).unidentified.campaign_id_if_exists()


PagesDep = Annotated[Pages, Depends(get_pages)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ReadDb = Annotated[Engine, Depends(get_read_db)]
EventStoreDep = Annotated[EventStore, Depends(get_event_store)]
ProjectionsDep = Annotated[ProjectionRunner, Depends(get_projections)]
LiveDep = Annotated[LiveFeed, Depends(get_live)]
FilesDep = Annotated[FileStorage, Depends(get_files)]
FileLinksDep = Annotated[SignedFileLinks, Depends(get_file_links)]
TransportDep = Annotated[Transport, Depends(get_transport)]
CampaignsDep = Annotated[CampaignService, Depends(get_campaigns)]
StaffDep = Annotated[StaffService, Depends(get_staff)]
LoginsDep = Annotated[LoginService, Depends(get_logins)]
InboundDep = Annotated[InboundService, Depends(get_inbound)]
OutboundDep = Annotated[OutboundService, Depends(get_outbound)]
RouterDep = Annotated[AssignmentService, Depends(get_router)]
TransfersDep = Annotated[CampaignTransfers, Depends(get_transfers)]
ClosingDep = Annotated[ClosingService, Depends(get_closing)]
DeskDep = Annotated[DeskService, Depends(get_desk)]
CannedRepliesDep = Annotated[CannedReplyService, Depends(get_canned_replies)]
TimersDep = Annotated[TimerService, Depends(get_timers)]
TimeMachineDep = Annotated[TimeMachine, Depends(get_time_machine)]
RiskDep = Annotated[RiskMonitor, Depends(get_risk)]
ThrottleDep = Annotated[Throttle, Depends(get_throttle)]
PortfoliosDep = Annotated[PortfolioService, Depends(get_portfolios)]
BroadcastsDep = Annotated[BroadcastService, Depends(get_broadcasts)]
PostedForm = Annotated[FormData, Depends(get_posted_form)]
UnidentifiedCampaignDep = Annotated[str | None, Depends(get_unidentified_campaign_id)]
