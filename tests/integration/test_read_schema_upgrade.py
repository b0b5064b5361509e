"""Upgrading Despacho over an existing database: read tables whose shape changed are rebuilt from the log."""

from __future__ import annotations

from sqlalchemy import func, inspect, select, text

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from projections.queries import CAMPAIGNS, PORTFOLIOS


def test_a_read_table_of_an_older_shape_is_rebuilt_with_its_rows(despacho: Despacho, settings: Settings,
                                                                 clock: FixedClock) -> None:
    for code in ("banco_a", "telco_b"):
        despacho.campaigns.register(code, code, code, {}, actor="test")
    despacho.runner.catch_up()
    with despacho.read_engine.begin() as connection:  # what an older release left behind
        connection.execute(text("ALTER TABLE campaigns ADD COLUMN retired_setting VARCHAR(10)"))
    despacho.close()

    upgraded = build(settings, clock=clock)
    try:
        upgraded.runner.catch_up()
        with upgraded.read_engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(CAMPAIGNS.campaigns)).scalar_one() == 2
            columns = connection.execute(select(CAMPAIGNS.campaigns).limit(1)).keys()
        assert "retired_setting" not in columns
        assert all(status.lag == 0 for status in upgraded.runner.status())
    finally:
        upgraded.close()


def test_customers_keyed_by_number_alone_are_rebuilt_keyed_by_type_and_number(despacho: Despacho, settings: Settings,
                                                                              clock: FixedClock) -> None:
    campaign = despacho.campaigns.register("banco_a", "Banco A", "Banco A", {}, actor="test")
    portfolio = "tipo_documento;documento;nombres\nCC;100001;Ana Citizen\nCE;100001;Ann Foreigner\n"
    despacho.portfolios.import_file(campaign, portfolio.encode(), "cartera.csv", actor="test")
    despacho.runner.catch_up()
    with despacho.read_engine.begin() as connection:  # the tables as the release before identity keys left them
        connection.execute(text("DROP TABLE customer_phones"))
        connection.execute(text("DROP TABLE customers"))
        connection.execute(text(
            "CREATE TABLE customers (campaign_id VARCHAR(36), document_number VARCHAR(20), document_type VARCHAR(5),"
            " full_name VARCHAR(200), phones JSON, email VARCHAR(200), balance VARCHAR(32), custom_fields JSON,"
            " active BOOLEAN, import_id VARCHAR(36), updated_at TIMESTAMP,"
            " PRIMARY KEY (campaign_id, document_number))"))
        connection.execute(text(
            "CREATE TABLE customer_phones (campaign_id VARCHAR(36), document_type VARCHAR(5),"
            " document_number VARCHAR(20), phone VARCHAR(20), PRIMARY KEY (campaign_id, document_number, phone))"))
    despacho.close()

    upgraded = build(settings, clock=clock)
    try:
        upgraded.runner.catch_up()
        customers = PORTFOLIOS.customers
        with upgraded.read_engine.connect() as connection:
            rows = connection.execute(select(customers.c.document_type, customers.c.full_name)
                                      .order_by(customers.c.document_type)).all()
        assert [tuple(row) for row in rows] == [("CC", "Ana Citizen"), ("CE", "Ann Foreigner")]
    finally:
        upgraded.close()


def test_an_index_added_by_an_upgrade_is_built_beside_the_existing_rows(despacho: Despacho, settings: Settings,
                                                                        clock: FixedClock) -> None:
    despacho.campaigns.register("banco_a", "banco_a", "banco_a", {}, actor="test")
    despacho.runner.catch_up()
    with despacho.read_engine.begin() as connection:  # an older release had no such index
        connection.execute(text("DROP INDEX ix_portfolio_jobs_status_queued"))
    despacho.close()

    upgraded = build(settings, clock=clock)
    try:
        indexes = {index["name"] for index in inspect(upgraded.read_engine).get_indexes("portfolio_jobs")}
        assert "ix_portfolio_jobs_status_queued" in indexes
        with upgraded.read_engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(CAMPAIGNS.campaigns)).scalar_one() == 1
    finally:
        upgraded.close()
