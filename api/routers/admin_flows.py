"""Admin page for bot flows: every flow with its versions, the campaigns using it, `despacho flows check` and
`despacho flows test` (the test conversations in the flows folder's `tests/`), per flow."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from adapters.flow_files import flow_files, scenario_files
from adapters.flow_files.checking import CampaignUsing, campaigns_without_flow, check_files, flows_in_use
from adapters.flow_files.scenario_runs import run_scenario_files
from api.deps import PagesDep, ReadDb, SettingsDep
from api.security import allow
from projections.queries import list_campaigns

router = APIRouter(prefix="/admin/flows", include_in_schema=False, dependencies=[Depends(allow("admin"))])


@router.get("")
def flows_page(request: Request, settings: SettingsDep, read_db: ReadDb, pages: PagesDep) -> Response:
    report = check_files(flow_files(settings.flows_dir))
    campaigns = [CampaignUsing(c["name"], c["flow_name"]) for c in list_campaigns(read_db)]
    return pages.render(request, "admin/flows.html", {
        "report": report, "flows": flows_in_use(report, campaigns),
        "unreadable": [checked for checked in report.files if checked.flow is None],
        "orphans": campaigns_without_flow(report, campaigns),
        "tests": run_scenario_files(scenario_files(settings.flows_dir / "tests"))})
