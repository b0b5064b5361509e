"""How each process runs: embedded (everything in one), or the production processes."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from adapters.event_store import eventsourcing_env
from adapters.pg_notify import start_listener
from api.app import create_app
from despacho.bootstrap import Despacho, build
from despacho.logs import configure_logging
from despacho.settings import Settings
from workers.broker import start_worker
from workers.scheduler import InMemorySlotClaims, RedisSlotClaims, Scheduler

log = logging.getLogger(__name__)
JOIN_SECONDS = 30


@contextmanager
def background(despacho: Despacho, *, projector: bool, worker: bool, scheduler: bool) -> Iterator[threading.Event]:
    """Start the requested background parts; stop them cleanly on exit."""
    stop = threading.Event()
    dramatiq_worker = None
    threads = []
    if projector:
        despacho.runner.catch_up()
        threads.append(despacho.runner.start_thread(stop))
        _listen_for_new_events(despacho, stop)
    if worker:
        dramatiq_worker = start_worker(despacho.broker)
    if scheduler:
        claims = RedisSlotClaims(despacho.settings.redis_url) if despacho.settings.redis_url else InMemorySlotClaims()
        schedule = Scheduler(despacho.actors.periodic_jobs(despacho.settings.timer_interval_seconds), claims)
        threads.append(schedule.start_thread(stop))
    try:
        yield stop
    finally:
        stop.set()
        despacho.runner.wake.set()  # the lanes sleep until woken or their poll ends: they see `stop` now
        if dramatiq_worker is not None:
            dramatiq_worker.stop()
        # Closing the stores under a lane still reading them crashes SQLite's driver: wait for them first.
        for thread in threads:
            thread.join(timeout=JOIN_SECONDS)
            if thread.is_alive():
                log.warning("background thread %s did not stop within %s s", thread.name, JOIN_SECONDS)


def _listen_for_new_events(despacho: Despacho, stop: threading.Event) -> None:
    env = eventsourcing_env(despacho.settings.event_store_url)
    if env["PERSISTENCE_MODULE"] != "eventsourcing.postgres":
        return
    password = f" password={env['POSTGRES_PASSWORD']}" if env["POSTGRES_PASSWORD"] else ""
    conninfo = (f"host={env['POSTGRES_HOST']} port={env['POSTGRES_PORT']} dbname={env['POSTGRES_DBNAME']} "
                f"user={env['POSTGRES_USER']}{password}")
    start_listener(conninfo, despacho.store.recorder.channel_name, despacho.runner.wake.set, stop)  # type: ignore[attr-defined]


def serve_embedded(host: str, port: int, settings: Settings | None = None) -> None:
    """API, projectors, workers and timers in one process: SQLite, no Redis needed."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    despacho = build(settings)
    despacho.unidentified.ensure_exists()
    with background(despacho, projector=True, worker=True, scheduler=True):
        uvicorn.run(create_app(despacho), host=host, port=port, log_config=None)
    despacho.close()


def serve_api(host: str, port: int) -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    despacho = build(settings)
    despacho.unidentified.ensure_exists()
    uvicorn.run(create_app(despacho), host=host, port=port, log_config=None, proxy_headers=True)
    despacho.close()


def run_worker(threads: int) -> None:
    """Dramatiq worker on Redis plus the scheduler (slots are claimed in Redis)."""
    settings = Settings()
    configure_logging(settings.log_level)
    despacho = build(settings)
    despacho.unidentified.ensure_exists()
    stop = _wait_for_signal()
    worker = start_worker(despacho.broker, threads)
    claims = RedisSlotClaims(settings.redis_url) if settings.redis_url else InMemorySlotClaims()
    Scheduler(despacho.actors.periodic_jobs(settings.timer_interval_seconds), claims).start_thread(stop)
    log.info("worker started with %d threads", threads)
    stop.wait()
    worker.stop()
    despacho.close()


def run_projector() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    despacho = build(settings)
    stop = _wait_for_signal()
    _listen_for_new_events(despacho, stop)
    log.info("projector started at %s", [(s.name, s.position) for s in despacho.runner.status()])
    despacho.runner.run_forever(stop)
    despacho.close()


def _wait_for_signal() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop
