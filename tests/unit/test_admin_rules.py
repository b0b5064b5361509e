"""Rules behind the admin pages: sender formats, who manages whom, import jobs that never import twice, and
when a replace import needs confirming."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from application.staff import Identity, may_manage
from despacho.bootstrap import Despacho
from domain.campaigns import Campaign, CampaignError, CampaignSettings
from domain.portfolios import PortfolioImportError, PortfolioJob, Replacement
from projections.admin_queries import job_progress

AT = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
ROWS = b"documento,nombres,celular\n1001,Ana,3001234567\n1002,Luis,3007654321\n"


def campaign() -> Campaign:
    return Campaign.register("banco_a", "Banco A", "Banco A", CampaignSettings(closing_template_sid="HX" + "c" * 32),
                             actor="t", at=AT)


@pytest.mark.parametrize(("address", "channel", "stored"), [
    ("+57 300 111 2233", "whatsapp", "whatsapp:+573001112233"),
    ("whatsapp:+573001112233", "whatsapp", "whatsapp:+573001112233"),
    ("+57 (1) 600-0011", "sms", "+5716000011"),
    ("MG" + "0a" * 16, "messaging_service", "MG" + "0a" * 16),
])
def test_senders_are_stored_in_twilios_format(address: str, channel: str, stored: str) -> None:
    linked = campaign()
    linked.link_sender(address, channel, is_default=False, actor="t", at=AT)

    assert list(linked.senders) == [stored] and linked.senders[stored].is_default


@pytest.mark.parametrize(("address", "channel"), [("300111", "sms"), ("whatsapp:573001112233", "whatsapp"),
                                                  ("MG123", "messaging_service"), ("+573001112233", "fax")])
def test_malformed_senders_are_refused(address: str, channel: str) -> None:
    with pytest.raises(CampaignError):
        campaign().link_sender(address, channel, is_default=False, actor="t", at=AT)


def test_the_closing_template_must_be_a_content_sid() -> None:
    with pytest.raises(CampaignError, match="Content SID"):
        CampaignSettings(closing_template_sid="plantilla_cierre").check()
    CampaignSettings(closing_template_sid="HX" + "f" * 32).check()


SUPERVISOR = Identity("s", "sup", "Sup", "supervisor", frozenset({"a"}))


@pytest.mark.parametrize(("roles", "before", "after", "allowed"), [
    ({"agent"}, set(), {"a"}, True),            # a new agent of their campaign
    ({"agent"}, set(), set(), False),           # an agent they would not see
    ({"agent"}, set(), {"a", "b"}, False),      # into a campaign they do not supervise
    ({"agent"}, {"a", "b"}, {"b"}, True),       # out of their campaign; b stays
    ({"agent"}, {"b"}, {"b"}, False),           # someone else's agent
    ({"agent", "supervisor"}, {"a"}, {"a"}, False),  # promoting or demoting staff
])
def test_supervisors_manage_agents_only_within_their_campaigns(roles: set[str], before: set[str], after: set[str],
                                                               allowed: bool) -> None:
    assert may_manage(SUPERVISOR, roles, frozenset(before), frozenset(after)) is allowed
    assert may_manage(Identity("x", "adm", "Adm", "admin", frozenset()), roles, frozenset(before), frozenset(after))


def test_a_finished_job_cannot_finish_or_fail_again() -> None:
    job = PortfolioJob.queue("c", "f.csv", "memory://f", "ab" * 32, "upsert", None, actor="t", at=AT)
    job.finish("i", {"valid": 1}, actor="system", at=AT)

    with pytest.raises(PortfolioImportError):
        job.fail("late", actor="system", at=AT)


def test_running_a_job_twice_imports_once(sqlite_despacho: Despacho) -> None:
    despacho = sqlite_despacho
    campaign_id = despacho.campaigns.register("banco_a", "Banco A", "Banco A", {}, actor="t")
    upload_id, _ = despacho.portfolios.preview_upload("c.csv", content=ROWS)
    job_id = despacho.portfolios.queue_import(campaign_id, upload_id, "c.csv", actor="t")

    assert despacho.portfolios.run_job(job_id) == "done"
    assert despacho.portfolios.run_job(job_id) == "done"
    despacho.runner.catch_up()

    progress = job_progress(despacho.read_engine, str(job_id))
    assert progress is not None and progress["status"] == "completed" and progress["counts"]["valid"] == 2
    with despacho.read_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM portfolio_imports").scalar() == 1


def test_a_job_for_an_archived_campaign_fails_and_imports_nothing(sqlite_despacho: Despacho) -> None:
    despacho = sqlite_despacho
    campaign_id = despacho.campaigns.register("banco_a", "Banco A", "Banco A", {}, actor="t")
    upload_id, _ = despacho.portfolios.preview_upload("c.csv", content=ROWS)
    job_id = despacho.portfolios.queue_import(campaign_id, upload_id, "c.csv", actor="t")
    despacho.campaigns.archive(campaign_id, actor="t")

    assert despacho.portfolios.run_job(UUID(str(job_id))) == "failed"
    despacho.runner.catch_up()

    progress = job_progress(despacho.read_engine, str(job_id))
    assert progress is not None and progress["status"] == "failed" and "archivada" in progress["error"]


@pytest.mark.parametrize(("active", "deactivated", "needs_confirmation"), [
    (5, 1, False), (5, 2, True), (4, 1, True), (100, 20, False), (100, 21, True), (0, 0, False), (1, 1, True),
])
def test_a_replace_deactivating_more_than_a_fifth_of_the_portfolio_needs_confirmation(
        active: int, deactivated: int, needs_confirmation: bool) -> None:
    assert Replacement(active, deactivated).needs_confirmation is needs_confirmation
