"""The webhook benchmark's baseline server: FastAPI parsing the same form and doing one INSERT, nothing else.

Started by `bench_webhooks.py` as `uvicorn --factory bare_webhook_app:create_app`, with the database in
BARE_DATABASE_URL (SQLite file or PostgreSQL), the same kind of database the product runs on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import Column, Integer, MetaData, String, Table, event, insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.read_store import make_read_engine

metadata = MetaData()
inbound = Table("bare_inbound", metadata, Column("id", Integer, primary_key=True), Column("sid", String(34)),
                Column("body", String(4096)))


def create_app() -> FastAPI:
    engine = make_read_engine(os.environ["BARE_DATABASE_URL"])  # the product's own engine settings (WAL on SQLite)
    if engine.dialect.name == "sqlite":
        # As durable as the product's event store (the library leaves SQLite's synchronous=FULL): a webhook
        # answered 200 is one Twilio will not send again, so its row must be on disk when the answer goes.
        event.listen(engine, "connect", _synchronous_full)
    metadata.create_all(engine)
    app = FastAPI()

    @app.post("/bare")
    async def bare(request: Request) -> Response:
        form = await request.form()
        with engine.begin() as connection:
            connection.execute(insert(inbound).values(sid=str(form["MessageSid"]), body=str(form["Body"])))
        return Response('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', media_type="text/xml")

    return app


def _synchronous_full(dbapi_connection: Any, _: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=FULL")
