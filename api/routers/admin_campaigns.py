"""Admin pages for campaigns: list, create, edit every setting, senders, archive."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import Engine
from starlette.datastructures import FormData

from api.deps import CampaignsDep, PagesDep, PostedForm, ProjectionsDep, ReadDb, UnidentifiedCampaignDep
from api.flash import redirect_with_flash
from api.forms import redirect_once_seen
from api.routers import metric_targets_form, risk_form
from api.security import allow, current_identity
from api.templating import Pages
from api.warnings import unattended_campaign
from domain.campaigns import CONTENT_SID_PATTERN, WEEKDAYS, CampaignSettings
from domain.common import DomainError
from domain.dispositions import stored_disposition
from projections.admin_queries import campaign_row
from projections.queries import list_campaigns

router = APIRouter(prefix="/admin/campaigns", include_in_schema=False, dependencies=[Depends(allow("admin"))])
INT_SETTINGS = ("alert_after_minutes", "auto_close_after_hours", "default_capacity")
PRESENCE_INT_SETTINGS = ("offline_requeue_minutes", "session_idle_minutes")
SURVEY_SETTINGS = ("survey_question", "survey_answer_hours")
TEXT_SETTINGS = ("time_zone", "routing_policy", "closing_message", "closing_template_sid", "flow_name")
TEMPLATE_FIELDS = ("name", "content_sid", "variables")
SEEN_ON_THE_PAGE = ("campaigns",)  # the campaign pages read the campaigns projector's tables only


class FormError(DomainError):
    pass


def settings_from_form(form: FormData) -> dict[str, Any]:
    """The settings a campaign form posts: hours per day (blank = closed), one disposition's label per line (ending
    in `*` when effective)."""
    settings: dict[str, Any] = {key: str(form.get(key, "")).strip() for key in TEXT_SETTINGS}
    for key in INT_SETTINGS:
        settings[key] = _integer(form, key)
    hours = {}
    for day in WEEKDAYS:
        opens, closes = str(form.get(f"{day}_open", "")).strip(), str(form.get(f"{day}_close", "")).strip()
        if opens or closes:
            hours[day] = [opens, closes]
    settings["business_hours"] = hours
    settings["agents_outside_hours_take_chats"] = form.get("agents_outside_hours_take_chats") == "1"
    settings["dispositions"] = [line.strip() for line in str(form.get("dispositions", "")).splitlines() if line.strip()]
    settings["templates"] = templates_from_form(form)
    if "break_reasons" in form:  # the presence fieldset was posted (forms of API clients may leave it out)
        settings.update(presence_settings_from_form(form))
    if risk_form.posted(form):
        settings["risk_thresholds"] = risk_form.risk_thresholds_from_form(form)
    if metric_targets_form.posted(form):
        settings["metric_targets"] = metric_targets_form.metric_targets_from_form(form)
    if "survey_question" in form:  # the survey fieldset was posted (forms of API clients may leave it out)
        settings.update(survey_settings_from_form(form))
    return settings


def survey_settings_from_form(form: FormData) -> dict[str, Any]:
    return {"survey_enabled": form.get("survey_enabled") == "1",
            "survey_question": str(form.get("survey_question", "")).strip(),
            "survey_answer_hours": _integer(form, "survey_answer_hours")}


def presence_settings_from_form(form: FormData) -> dict[str, Any]:
    """Break reasons (one per line), when an offline agent's chats go back to the queue, sessions."""
    settings: dict[str, Any] = {key: _integer(form, key) for key in PRESENCE_INT_SETTINGS}
    settings["break_reasons"] = [line.strip() for line in str(form.get("break_reasons", "")).splitlines()
                                 if line.strip()]
    settings["allow_parallel_sessions"] = form.get("allow_parallel_sessions") == "1"
    return settings


def _integer(form: FormData, key: str) -> int:
    try:
        return int(str(form.get(key, "")).strip())
    except ValueError as error:
        raise FormError("'%(field)s' debe ser un número entero", field=key) from error


def template_rows_of(form: FormData) -> list[dict[str, str]]:
    """The rows of the templates table as typed (a row is a name, a Content SID and its variables)."""
    columns = [[str(v).strip() for v in form.getlist(f"template_{key}")] for key in TEMPLATE_FIELDS]
    return [dict(zip(TEMPLATE_FIELDS, cells, strict=True)) for cells in zip(*columns, strict=False) if any(cells)]


def templates_from_form(form: FormData) -> list[dict[str, Any]]:
    """Approved WhatsApp templates; blank rows are ignored, variables are comma-separated names."""
    templates = []
    for number, row in enumerate(template_rows_of(form), start=1):
        variables = [name.strip() for name in row["variables"].split(",") if name.strip()]
        if not row["name"]:
            raise FormError("Plantilla %(number)s: falta el nombre", number=number)
        if len(row["name"]) > 80:
            raise FormError("Plantilla %(number)s: el nombre admite hasta 80 caracteres", number=number)
        if not CONTENT_SID_PATTERN.match(row["content_sid"]):
            raise FormError("Plantilla %(number)s: el Content SID empieza por HX y le siguen 32 caracteres "
                            "hexadecimales (34 en total)", number=number)
        if len(variables) > 20:
            raise FormError("Plantilla %(number)s: admite hasta 20 variables", number=number)
        templates.append({"name": row["name"], "content_sid": row["content_sid"], "variables": variables})
    return templates


def _campaign_or_404(read_db: Engine, campaign_id: UUID) -> dict[str, Any]:
    row = campaign_row(read_db, str(campaign_id))
    if row is None:
        raise HTTPException(status_code=404, detail="Campaña desconocida")
    return row


def _form_page(request: Request, flow_names: list[str], pages: Pages, campaign: dict[str, Any] | None,
               values: dict[str, Any], error: str | None = None) -> Response:
    return pages.render(request, "admin/campaign_form.html", {
        "campaign": campaign, "values": values, "error": error, "weekdays": WEEKDAYS, "flow_names": flow_names,
        "risk_rows": risk_form.risk_rows(), "target_rows": metric_targets_form.target_rows(),
    }, status_code=422 if error else 200)


def _values_of(form: FormData) -> dict[str, Any]:
    return {**{key: str(value) for key, value in form.items()}, "templates": template_rows_of(form)}


def _values_from_row(row: dict[str, Any]) -> dict[str, Any]:
    values = {key: row[key] for key in (*TEXT_SETTINGS, *INT_SETTINGS, *PRESENCE_INT_SETTINGS, *SURVEY_SETTINGS,
                                        "code", "name", "display_name")}
    values["survey_enabled"] = "1" if row["survey_enabled"] else ""
    values["dispositions"] = "\n".join(stored_disposition(d).as_typed() for d in row["dispositions"])
    values["agents_outside_hours_take_chats"] = "1" if row["agents_outside_hours_take_chats"] else ""
    values["break_reasons"] = "\n".join(row["break_reasons"])
    values["allow_parallel_sessions"] = "1" if row["allow_parallel_sessions"] else ""
    values.update(risk_form.risk_values(row["risk_thresholds"]))
    values.update(metric_targets_form.target_values(row["metric_targets"]))
    values["templates"] = [{"name": template["name"], "content_sid": template["content_sid"],
                            "variables": ", ".join(template["variables"])} for template in row["templates"]]
    for day, (opens, closes) in row["business_hours"].items():
        values[f"{day}_open"], values[f"{day}_close"] = opens, closes
    return values


def _default_values() -> dict[str, Any]:
    defaults = CampaignSettings()
    row = {**defaults.to_dict(), "code": "", "name": "", "display_name": ""}
    return {**_values_from_row(row), "closing_template_sid": "", "sender_channel": "whatsapp"}


@router.get("")
def campaigns_page(request: Request, read_db: ReadDb, unidentified: UnidentifiedCampaignDep, pages: PagesDep,
                   archived: bool = False) -> Response:
    rows = list_campaigns(read_db, include_archived=archived)
    return pages.render(request, "admin/campaigns.html", {
        "campaigns": rows, "show_archived": archived,
        "unattended_campaign": unattended_campaign(read_db, current_identity(request), unidentified)})


@router.get("/new")
def new_campaign_page(request: Request, campaigns: CampaignsDep, pages: PagesDep) -> Response:
    return _form_page(request, campaigns.flow_names, pages, None, _default_values())


@router.post("")
def create_campaign(request: Request, form: PostedForm, campaigns: CampaignsDep, projections: ProjectionsDep,
                    pages: PagesDep) -> Response:
    sender = str(form.get("sender_address", "")).strip()
    senders = [(sender, str(form.get("sender_channel", "whatsapp")), True)] if sender else []
    try:
        campaign_id = campaigns.register(
            str(form.get("code", "")), str(form.get("name", "")), str(form.get("display_name", "")),
            settings_from_form(form), senders=senders, actor=f"user:{current_identity(request).id}")
    except DomainError as error:
        return _form_page(request, campaigns.flow_names, pages, None, _values_of(form),
                          pages.explain(request.state.lang, error))
    message = pages.translate(request.state.lang, "Campaña creada.")
    return redirect_once_seen(request, projections, f"/admin/campaigns/{campaign_id}", message, SEEN_ON_THE_PAGE)


@router.get("/{campaign_id}")
def edit_campaign_page(campaign_id: UUID, request: Request, campaigns: CampaignsDep, read_db: ReadDb,
                       pages: PagesDep) -> Response:
    campaign = _campaign_or_404(read_db, campaign_id)
    return _form_page(request, campaigns.flow_names, pages, campaign, _values_from_row(campaign))


@router.post("/{campaign_id}")
def edit_campaign(campaign_id: UUID, request: Request, form: PostedForm, campaigns: CampaignsDep, read_db: ReadDb,
                  projections: ProjectionsDep, pages: PagesDep) -> Response:
    campaign = _campaign_or_404(read_db, campaign_id)
    try:
        campaigns.edit(campaign_id, str(form.get("name", "")), str(form.get("display_name", "")),
                       settings_from_form(form), actor=f"user:{current_identity(request).id}")
    except DomainError as error:
        values = {**_values_of(form), "code": campaign["code"]}
        return _form_page(request, campaigns.flow_names, pages, campaign, values,
                          pages.explain(request.state.lang, error))
    message = pages.translate(request.state.lang, "Cambios guardados.")
    return redirect_once_seen(request, projections, f"/admin/campaigns/{campaign_id}", message, SEEN_ON_THE_PAGE)


@router.post("/{campaign_id}/archive")
def archive_campaign(campaign_id: UUID, request: Request, campaigns: CampaignsDep, projections: ProjectionsDep,
                     pages: PagesDep) -> Response:
    campaigns.archive(campaign_id, actor=f"user:{current_identity(request).id}")
    message = pages.translate(request.state.lang, "Campaña archivada: ya no recibe chats nuevos ni cargas.")
    return redirect_once_seen(request, projections, "/admin/campaigns", message, SEEN_ON_THE_PAGE)


@router.post("/{campaign_id}/senders")
def link_sender(campaign_id: UUID, request: Request, form: PostedForm, campaigns: CampaignsDep,
                projections: ProjectionsDep, pages: PagesDep) -> Response:
    url = f"/admin/campaigns/{campaign_id}#senders"
    try:
        campaigns.link_sender(campaign_id, str(form.get("address", "")), str(form.get("channel", "")),
                              is_default=form.get("is_default") == "1", actor=f"user:{current_identity(request).id}")
    except DomainError as error:
        return redirect_with_flash(request, url, "error", pages.explain(request.state.lang, error))
    return redirect_once_seen(request, projections, url, pages.translate(request.state.lang, "Remitente guardado."),
                              SEEN_ON_THE_PAGE)


@router.post("/{campaign_id}/senders/remove")
def unlink_sender(campaign_id: UUID, request: Request, form: PostedForm, campaigns: CampaignsDep,
                  projections: ProjectionsDep, pages: PagesDep) -> Response:
    url = f"/admin/campaigns/{campaign_id}#senders"
    try:
        campaigns.unlink_sender(campaign_id, str(form.get("address", "")), actor=f"user:{current_identity(request).id}")
    except DomainError as error:
        return redirect_with_flash(request, url, "error", pages.explain(request.state.lang, error))
    return redirect_once_seen(request, projections, url, pages.translate(request.state.lang, "Remitente retirado."),
                              SEEN_ON_THE_PAGE)
