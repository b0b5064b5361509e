"""The real application, in-process, on the simulation's clock.

Built by the composition root like `despacho serve`, with the fake Twilio transport. Customers' messages and
Twilio's status callbacks are signed form posts to the webhook routes through the app's ASGI interface.
`settle` runs the followers (and the chats the simulated people look at) to the head of the log and works off
what they handed out to the in-process broker in this thread, in order, until nothing is left: the run depends
only on the seed. The other read tables catch up at every tick of the simulated scheduler (`settle_everything`),
behind by at most a tick, as a busy projector process is behind the log; they decide nothing a person does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode

import dramatiq
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from adapters.passwords import Argon2Passwords
from adapters.twilio_signatures import sign, webhook_url
from adapters.twilio_transport import FakeTransport, SentMessage
from api.app import create_app
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from projections.base import Projector
from workers.follow_up_delivery import MARK

log = logging.getLogger(__name__)
MESSAGES_PATH = "/webhooks/twilio/messages"
STATUS_PATH = "/webhooks/twilio/status"
# The simulation's own accounts sign in hundreds of times a month: argon2id at its lowest cost keeps that quick.
SIMULATION_PASSWORDS = Argon2Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
MAX_SETTLE_ROUNDS = 50
LOOKED_AT = frozenset({"chats"})
"""Read models the simulated people read after every step (which chat is whose), besides the followers."""


class SimulationError(Exception):
    """The application refused what a simulated person did, or a job it handed out failed."""


@dataclass
class Application:
    despacho: Despacho
    client: TestClient
    transport: FakeTransport
    clock: FixedClock
    jobs_failed: int = 0
    _projected_to: dict[bool, int] = field(default_factory=dict)
    _sid_counter: int = 0
    _reported: int = 0

    def settle(self, *, everything: bool = False) -> None:
        """Followers and the chats (`everything`: every projector) to the head of the log, and every job they
        handed out done."""
        runner = self.despacho.runner
        projectors = [p for p in runner.projectors if everything or p.follows_closely or p.name in LOOKED_AT]
        for _ in range(MAX_SETTLE_ROUNDS):
            head = runner.head()
            since = self._projected_to.get(everything, 0)
            if head != since:  # only this thread writes: nothing new, nothing to do
                self._project(projectors, since)
                self._projected_to[everything] = head
            if not self._work_off_broker() and runner.head() == head:
                return
        raise SimulationError("the log kept growing after 50 rounds of follow-ups")

    def settle_everything(self) -> None:
        self.settle(everything=True)

    def _project(self, projectors: list[Projector], since: int) -> None:
        """Each projector that wants one of the events written since `since` (the others catch up at the next
        tick, from their own positions)."""
        runner = self.despacho.runner
        written = runner.store.recorder.select_notifications(start=since, limit=runner.batch_size,
                                                             inclusive_of_start=False)
        topics = {notification.topic for notification in written}
        for projector in projectors:
            if len(written) < runner.batch_size and not topics & projector.topics:
                continue
            while runner.run_batch(projector) == runner.batch_size:  # a short batch reached the head
                pass

    def _work_off_broker(self) -> bool:
        worked = False
        broker = self.despacho.broker
        for name in sorted(broker.queues):
            queue = broker.queues[name]
            while not queue.empty():
                self._run(dramatiq.Message.decode(queue.get_nowait()))
                queue.task_done()
                worked = True
        return worked

    def _run(self, message: dramatiq.Message) -> None:  # type: ignore[type-arg]
        actor = self.despacho.broker.get_actor(message.actor_name)
        try:
            actor.fn(*message.args, **message.kwargs)
        except Exception as error:
            self.jobs_failed += 1
            log.exception("simulated job failed", extra={"job": message.actor_name})
            if message.options.get(MARK):
                self.despacho.follow_up_ledger.failed(message.message_id, repr(error))
            return
        if message.options.get(MARK):
            self.despacho.follow_up_ledger.done(message.message_id)

    def run_periodic_jobs(self) -> None:
        """What the scheduler runs every interval, at the clock's now, on read tables caught up (settled with the
        step that runs them)."""
        self.settle_everything()
        actors = self.despacho.actors
        for job in (actors.expire_sessions, actors.run_timers, actors.record_bot_inactivity,
                    actors.follow_confirmations, actors.check_delivery):
            job.fn()

    def customer_writes(self, customer: str, to: str, body: str, profile_name: str) -> None:
        self._sid_counter += 1
        params = {"MessageSid": f"SM{self._sid_counter:032x}", "AccountSid": self._account_sid, "From": customer,
                  "To": to, "Body": body, "ProfileName": profile_name, "NumMedia": "0"}
        self._post(MESSAGES_PATH, params)

    def unreported_sends(self) -> list[SentMessage]:
        """What the fake transport accepted since the last call, oldest first."""
        sent = self.transport.sent
        fresh, self._reported = sent[self._reported:], len(sent)
        return fresh

    def twilio_reports(self, sent: SentMessage, status: str, error_code: str = "") -> None:
        """Twilio's status callback for one message, at the status-callback URL Despacho gave it."""
        params = {"MessageSid": sent.sid, "AccountSid": self._account_sid, "MessageStatus": status,
                  "To": sent.delivery.to, "From": sent.delivery.sender}
        if error_code:
            params["ErrorCode"] = error_code
        self._post(f"{STATUS_PATH}?{urlencode({'mid': sent.delivery.message_id})}", params)

    @property
    def _account_sid(self) -> str:
        return self.despacho.settings.twilio_account_sid

    def _post(self, path: str, params: dict[str, str]) -> None:
        settings = self.despacho.settings
        signature = sign(settings.twilio_auth_token.get_secret_value(), webhook_url(settings.public_url, path),
                         params)
        response = self.client.post(path, data=params, headers={"X-Twilio-Signature": signature})
        if response.status_code >= 300:
            raise SimulationError(f"POST {path} answered {response.status_code}: {response.text[:200]}")


@contextmanager
def running(settings: Settings, clock: FixedClock, *, transcripts: bool = True) -> Iterator[Application]:
    """`transcripts=False` closes without rendering the closing PDFs (about a second of CPU each), as a
    ClosingService without a transcript maker does: `despacho audit closes` then lists every close."""
    transport = FakeTransport(clock)
    despacho = build(settings, clock=clock, transport=transport, passwords=SIMULATION_PASSWORDS)
    if not transcripts:
        despacho.closing.make_transcript = None
    try:
        with TestClient(create_app(despacho), follow_redirects=False) as client:
            yield Application(despacho, client, transport, clock)
    finally:
        despacho.close()
