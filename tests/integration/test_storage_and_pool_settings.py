"""Operators' settings for shared storage and connection counts, through the composition root.

DESPACHO_STORAGE=s3 puts closing transcripts in the bucket (an in-process S3 from moto, the same
boto3 calls as AWS or MinIO), so any API or worker host can read them. DESPACHO_DB_POOL_SIZE and
DESPACHO_DB_MAX_OVERFLOW bound the PostgreSQL connections one process holds, however many threads
use it at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import create_engine, text

from adapters.clock import FixedClock
from adapters.event_store import sqlalchemy_url
from adapters.twilio_transport import FakeTransport
from despacho.bootstrap import build
from despacho.settings import Settings
from projections.queries import list_campaigns
from tests.integration.test_timers_and_closing import Center
from tests.services import fresh_postgres_database

BUCKET = "despacho-archivos"


@pytest.fixture
def s3() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_with_s3_storage_a_closing_transcript_is_kept_in_the_bucket_under_the_prefix(
        s3: object, tmp_path: Path, clock: FixedClock) -> None:
    settings = Settings(var_dir=tmp_path / "var", storage="s3", s3_bucket=BUCKET, s3_prefix="bogota",
                        s3_region="us-east-1")
    despacho = build(settings, clock=clock, transport=FakeTransport())
    try:
        center = Center(despacho, clock)
        chat_id = center.assigned_chat(1)
        despacho.closing.close(chat_id, "agent", disposition="informacion_entregada", note="",
                               actor=f"user:{center.agent}", session_id=str(center.session))
        despacho.closing.finish(chat_id)
        location = center.chat(chat_id).transcript_location
    finally:
        despacho.close()

    assert location.startswith(f"s3://{BUCKET}/bogota/")
    stored = s3.get_object(Bucket=BUCKET, Key=location.removeprefix(f"s3://{BUCKET}/"))  # type: ignore[attr-defined]
    assert stored["Body"].read().startswith(b"%PDF")
    assert not (tmp_path / "var" / "files").exists()


def connections_to(database_url: str) -> int:
    engine = create_engine(sqlalchemy_url(database_url.rsplit("/", 1)[0] + "/postgres"))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name"),
                                          {"name": database_url.rsplit("/", 1)[1]}).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_one_process_holds_no_more_connections_than_its_pools_allow(tmp_path: Path, clock: FixedClock) -> None:
    with fresh_postgres_database() as url:
        despacho = build(Settings(var_dir=tmp_path / "var", database_url=url, db_pool_size=1, db_max_overflow=1),
                         clock=clock)
        done, counted = threading.Event(), []

        def count_until_done() -> None:
            while not done.is_set():
                counted.append(connections_to(url))

        def busy(n: int) -> int:
            despacho.campaigns.register(f"campana_{n}", f"Campaña {n}", "C", {}, actor="t")
            despacho.runner.catch_up()
            return len(list_campaigns(despacho.read_engine))

        counter = threading.Thread(target=count_until_done)
        counter.start()
        try:
            with ThreadPoolExecutor(max_workers=12) as threads:
                listed = list(threads.map(busy, range(24)))
        finally:
            done.set()
            counter.join()
            despacho.close()

    assert max(listed) == 24
    assert 1 <= max(counted) <= 2 * (1 + 1)  # two pools (events, read tables), each at most size + overflow
