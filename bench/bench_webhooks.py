"""Inbound webhooks over real HTTP: the product's API in a uvicorn process beside a bare FastAPI app doing one
INSERT in another, on the same kind of database (SQLite, then PostgreSQL), both posted signed Twilio
webhooks by one keep-alive client, in interleaved rounds. Prints each round's throughput ratio, the median
and the spread. Target: median ratio ≥ 0.6.

The product's API runs alone, as in production (`despacho api`, logging at INFO as shipped): attaching the
message to its chat is the inbound follower's work in the projector process, not the webhook's. On SQLite the
bare INSERT commits as durably as the event store does (synchronous=FULL). Beside the throughput, each server's
CPU time per request (from /proc), steadier than wall time on a shared machine. `--scale N` multiplies the
requests.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import available_backends, median

from adapters.twilio_signatures import sign, webhook_url
from despacho.settings import FAKE_TWILIO_AUTH_TOKEN, Settings
from tests.services import free_port, fresh_postgres_database

HERE = Path(__file__).resolve().parent
ROUNDS = 7
REQUESTS = 200
SENDER = "whatsapp:+5716000001"
sids = (f"SM{n:032x}" for n in itertools.count(1))


@dataclass
class Server:
    client: httpx.Client
    pid: int

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(command: list[str], env: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    process = subprocess.Popen([*command, "--host", "127.0.0.1", "--port", str(port)], cwd=HERE, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        _wait_until_listening(client, process)
        yield Server(client, process.pid)
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)


def _wait_until_listening(client: httpx.Client, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            client.get("/healthz")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def product(database_url: str, var_dir: Path) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESPACHO_", "TWILIO_"))}
    env |= {"DESPACHO_DATABASE_URL": database_url, "DESPACHO_VAR_DIR": str(var_dir)}
    return [sys.executable, "-m", "despacho.cli", "api"], env


def bare(database_url: str) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "BARE_DATABASE_URL": database_url}
    return [sys.executable, "-m", "uvicorn", "--factory", "bare_webhook_app:create_app", "--log-level", "warning"], env


def signed_forms(count: int) -> list[tuple[dict[str, str], dict[str, str]]]:
    """Twilio's form for `count` new messages from as many customers, each with its signature."""
    settings = Settings()
    url = webhook_url(settings.public_url, "/webhooks/twilio/messages")
    forms = []
    for n in range(count):
        params = {"MessageSid": next(sids), "AccountSid": "AC" + "0" * 32, "From": f"whatsapp:+57300{n:07d}",
                  "To": SENDER, "Body": f"Hola, mensaje {n}", "NumMedia": "0", "ProfileName": "Cliente"}
        forms.append((params, {"X-Twilio-Signature": sign(FAKE_TWILIO_AUTH_TOKEN, url, params)}))
    return forms


def post_all(target: Server, path: str, forms: list[tuple[dict[str, str], dict[str, str]]]) -> tuple[float, float]:
    """Requests per second, one at a time on one keep-alive connection, and the server's CPU ms per request."""
    start, cpu = time.perf_counter(), target.cpu_seconds()
    for params, headers in forms:
        response = target.client.post(path, data=params, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:200]}")
    return len(forms) / (time.perf_counter() - start), (target.cpu_seconds() - cpu) * 1000 / len(forms)


def compare(name: str, product_url: str, bare_url: str, var_dir: Path, requests: int) -> None:
    with server(*product(product_url, var_dir)) as app, server(*bare(bare_url)) as baseline:
        post_all(app, "/webhooks/twilio/messages", signed_forms(20))  # warm both up
        post_all(baseline, "/bare", signed_forms(20))
        apps, bares = [], []
        for _ in range(ROUNDS):
            apps.append(post_all(app, "/webhooks/twilio/messages", signed_forms(requests)))
            bares.append(post_all(baseline, "/bare", signed_forms(requests)))
    ratios = [a[0] / b[0] for a, b in zip(apps, bares, strict=True)]
    cpu_ratios = [b[1] / a[1] for a, b in zip(apps, bares, strict=True) if a[1]]
    print(f"[{name}] inbound webhook {median([a[0] for a in apps]):7.0f} req/s   bare INSERT "
          f"{median([b[0] for b in bares]):7.0f} req/s   ratio median {median(ratios):.2f}  "
          f"spread {min(ratios):.2f}–{max(ratios):.2f}  ({ROUNDS} rounds × {requests} requests)")
    print(f"[{name}]   server CPU per request: webhook {median([a[1] for a in apps]):.2f} ms, bare "
          f"{median([b[1] for b in bares]):.2f} ms; bare/webhook median {median(cpu_ratios):.2f}  "
          f"spread {min(cpu_ratios):.2f}–{max(cpu_ratios):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=1)
    requests = REQUESTS * parser.parse_args().scale
    print(f"== webhooks over real HTTP (uvicorn both sides), load average {os.getloadavg()[0]:.2f} ==")
    for name in available_backends():
        with tempfile.TemporaryDirectory() as tmp:
            if name == "sqlite":
                compare(name, f"sqlite:///{tmp}/despacho.sqlite", f"sqlite:///{tmp}/bare.sqlite", Path(tmp), requests)
                continue
            with fresh_postgres_database() as product_url, fresh_postgres_database() as bare_url:
                compare(name, product_url, bare_url, Path(tmp), requests)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
