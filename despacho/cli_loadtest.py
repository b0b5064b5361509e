"""`despacho loadtest`: customers and agents against the production processes, with the figures and the
invariant counts (exit 1 unless every count is 0). See docs/loadtest.md."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from despacho.settings import Settings

if TYPE_CHECKING:
    from despacho.loadtest.run import LoadPlan

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


@click.command()
@click.option("--customers", default=50, show_default=True, type=click.IntRange(1, 2000))
@click.option("--minutes", default=1.0, show_default=True, type=click.FloatRange(0.05, 600),
              help="How long customers keep starting conversations (the ones under way are finished).")
@click.option("--agents", default=None, type=click.IntRange(1, 200), help="Default: one per 10 customers, 2 at least.")
@click.option("--concurrency", default=20, show_default=True, type=click.IntRange(1, 500),
              help="Webhooks in flight at once.")
@click.option("--think-seconds", default=2.0, show_default=True, type=click.FloatRange(0),
              help="A customer's pause between messages (on average).")
@click.option("--reply-seconds", default=3.0, show_default=True, type=click.FloatRange(0),
              help="An agent answers within this many seconds.")
@click.option("--settle-seconds", default=180.0, show_default=True, type=click.FloatRange(1),
              help="How long to wait afterwards for the deployment to finish what it owes (sends, closes, PDFs).")
@click.option("--base-url", default=None, help="The deployment's API (default: DESPACHO_PUBLIC_URL).")
@click.option("--fake-twilio-port", default=None, type=int,
              help="Where the loadtest serves the fake Twilio (default: the port of DESPACHO_TWILIO_API_BASE_URL).")
@click.option("--admin-login", default="admin", show_default=True)
@click.option("--admin-password", envvar="DESPACHO_LOADTEST_ADMIN_PASSWORD", default=None,
              help="Or DESPACHO_LOADTEST_ADMIN_PASSWORD.")
@click.option("--spawn", is_flag=True, help="Start the production processes here on a fresh database, then drop it.")
@click.option("--postgres", default=DEFAULT_POSTGRES, show_default=True, help="With --spawn: the server to use.")
@click.option("--redis", "redis_url", default=DEFAULT_REDIS, show_default=True, help="With --spawn: the server.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def loadtest(customers: int, minutes: float, agents: int | None, concurrency: int, think_seconds: float,
             reply_seconds: float, settle_seconds: float, base_url: str | None, fake_twilio_port: int | None,
             admin_login: str, admin_password: str | None, spawn: bool, postgres: str, redis_url: str,
             as_json: bool) -> None:
    """Simulated customers over signed webhooks and agents over the API against the production processes;
    prints throughput, latencies and the invariant counts, and exits 1 unless every count is 0."""
    from despacho.loadtest.campaign_setup import SetupError
    from despacho.loadtest.deployment import SpawnError
    from despacho.loadtest.run import LoadPlan

    def plan(url: str, login: str, password: str) -> LoadPlan:
        return LoadPlan(base_url=url, admin_login=login, admin_password=password, customers=customers,
                        minutes=minutes, agents=agents or max(2, math.ceil(customers / 10)), concurrency=concurrency,
                        think_seconds=think_seconds, reply_seconds=reply_seconds, settle_seconds=settle_seconds)

    try:
        passed = (spawn_and_run(plan, postgres, redis_url, fake_twilio_port, as_json) if spawn
                  else run_against(plan, base_url, admin_login, admin_password, fake_twilio_port, as_json))
    except (SpawnError, SetupError) as error:
        raise click.ClickException(str(error)) from error
    if not passed:
        sys.exit(1)


def spawn_and_run(plan: Callable[[str, str, str], LoadPlan], postgres: str, redis_url: str,
                  fake_twilio_port: int | None, as_json: bool) -> bool:
    from despacho.loadtest.deployment import free_port, spawned

    with spawned(postgres, redis_url, free_port(), fake_twilio_port or free_port()) as deployment:
        return run_and_print(deployment.settings, plan(deployment.base_url, deployment.admin_login,
                                                       deployment.admin_password), deployment.fake_twilio_port, as_json)


def run_against(plan: Callable[[str, str, str], LoadPlan], base_url: str | None, admin_login: str,
                admin_password: str | None, fake_twilio_port: int | None, as_json: bool) -> bool:
    """A deployment already running, configured by the same DESPACHO_* and TWILIO_* variables as its processes."""
    settings = Settings()
    if not admin_password:
        raise click.UsageError("indique --admin-password (o DESPACHO_LOADTEST_ADMIN_PASSWORD), o use --spawn")
    port = fake_twilio_port or urlsplit(settings.twilio_api_base_url or "").port
    if port is None:
        raise click.UsageError("indique --fake-twilio-port: DESPACHO_TWILIO_API_BASE_URL no dice un puerto")
    return run_and_print(settings, plan(base_url or settings.public_url, admin_login, admin_password), port, as_json)


def run_and_print(settings: Settings, plan: LoadPlan, fake_twilio_port: int, as_json: bool) -> bool:
    from despacho.loadtest.phones import Phones, serve_phones
    from despacho.loadtest.run import run_load

    phones = Phones(settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value())
    with serve_phones(phones, fake_twilio_port):
        report = run_load(settings, plan, phones)
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) if as_json else "\n".join(report.lines()))
    return report.passed
