"""Upgrading Despacho over an existing database: read tables whose shape changed are rebuilt from the log."""

from __future__ import annotations

from sqlalchemy import func, inspect, select, text

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from projections.queries import CAMPAIGNS


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
