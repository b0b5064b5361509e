"""A `replace` import says how many customers it deactivates and, above a fifth of the portfolio, imports
nothing without an explicit confirmation (a one-row file once silently deactivated a whole campaign)."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from despacho.bootstrap import Despacho, build
from despacho.cli_portfolios import portfolios
from despacho.settings import Settings
from domain.portfolios import DeactivationNotConfirmedError, Replacement
from projections.queries import PORTFOLIOS


def portfolio(*documents: str) -> bytes:
    return "\n".join(["documento;nombres", *[f"{document};Cliente {document}" for document in documents]]).encode()


FIVE = portfolio("1001", "1002", "1003", "1004", "1005")


def active_customers(despacho: Despacho, campaign: UUID) -> int:
    customers = PORTFOLIOS.customers
    with despacho.read_engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(customers).where(
            customers.c.campaign_id == str(campaign), customers.c.active.is_(True))).scalar_one())


@pytest.fixture
def campaign(despacho: Despacho) -> UUID:
    campaign_id = despacho.campaigns.register("banco_a", "Banco A", "Banco A", {}, actor="test")
    despacho.portfolios.import_file(campaign_id, FIVE, "cartera.csv", actor="test")
    despacho.runner.catch_up()
    return campaign_id


def test_the_preview_says_how_many_active_customers_a_replace_would_deactivate(despacho: Despacho,
                                                                               campaign: UUID) -> None:
    preview = despacho.portfolios.preview(portfolio("1002", "1006"), "nueva.csv")

    assert despacho.portfolios.replacement(campaign, preview) == Replacement(active=5, deactivated=4)


def test_a_one_row_replace_imports_nothing_without_confirmation(despacho: Despacho, campaign: UUID) -> None:
    with pytest.raises(DeactivationNotConfirmedError, match="desactivaría 4 de sus 5 clientes activos"):
        despacho.portfolios.import_file(campaign, portfolio("1001"), "una_fila.csv", mode="replace", actor="test")
    despacho.runner.catch_up()

    assert active_customers(despacho, campaign) == 5


def test_a_confirmed_replace_deactivates_the_customers_it_leaves_out(despacho: Despacho, campaign: UUID) -> None:
    result = despacho.portfolios.import_file(campaign, portfolio("1001"), "una_fila.csv", mode="replace",
                                             confirm_deactivation=True, actor="test")
    despacho.runner.catch_up()

    assert result.replacement == Replacement(active=5, deactivated=4)
    assert active_customers(despacho, campaign) == 1


def test_a_replace_leaving_out_a_fifth_or_less_needs_no_confirmation(despacho: Despacho, campaign: UUID) -> None:
    despacho.portfolios.import_file(campaign, portfolio("1001", "1002", "1003", "1004"), "cuatro.csv",
                                    mode="replace", actor="test")
    despacho.runner.catch_up()

    assert active_customers(despacho, campaign) == 4


def test_queueing_a_replace_from_the_pages_needs_the_same_confirmation(despacho: Despacho, campaign: UUID) -> None:
    upload_id, _ = despacho.portfolios.preview_upload("una_fila.csv", content=portfolio("1001"))

    with pytest.raises(DeactivationNotConfirmedError):
        despacho.portfolios.queue_import(campaign, upload_id, "una_fila.csv", mode="replace", actor="test")
    job_id = despacho.portfolios.queue_import(campaign, upload_id, "una_fila.csv", mode="replace",
                                              confirm_deactivation=True, actor="test")

    assert despacho.portfolios.run_job(job_id) == "done"


def test_the_cli_refuses_a_large_replace_until_it_is_confirmed(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    despacho = build(settings)
    campaign = despacho.campaigns.register("banco_a", "Banco A", "Banco A", {}, actor="test")
    despacho.portfolios.import_file(campaign, FIVE, "cartera.csv", actor="test")
    despacho.close()
    one_row = tmp_path / "una_fila.csv"
    one_row.write_bytes(portfolio("1001"))
    command = ["import", "--campaign", "banco_a", "--mode", "replace", str(one_row)]
    environment = {"DESPACHO_VAR_DIR": str(settings.var_dir)}

    refused = CliRunner().invoke(portfolios, command, env=environment)
    confirmed = CliRunner().invoke(portfolios, [*command, "--confirm-deactivation"], env=environment)

    assert refused.exit_code == 1
    assert "desactivaría 4 de sus 5 clientes activos" in refused.stderr
    assert "--confirm-deactivation" in refused.stderr
    assert confirmed.exit_code == 0, confirmed.output
    assert "Desactivados: 4 de 5 clientes activos" in confirmed.stdout
