"""The outbound pace: token buckets on an injected clock, the reply lane before bulk, caps and risk levels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.clock import FixedClock
from adapters.token_buckets import WAITING_STALE_SECONDS, InProcessTokenBuckets
from application.throttle import CRITICAL_RECHECK_SECONDS, SendPostponedError, Throttle, ThrottleSettings
from domain.messages import OutboundMessage
from domain.throttling import (
    BULK,
    REPLY,
    CustomerCaps,
    Pace,
    WaitingLine,
    default_rate,
    lane_of,
)
from workers.actors import PACE_WAIT_IN_THREAD, send_when_paced

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
WHATSAPP = "whatsapp:+5716000001"
SMS = "+15005550006"


class ManualTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FixedLevels:
    def __init__(self, levels: dict[str, str] | None = None) -> None:
        self.levels = levels or {}

    def level_of(self, sender: str) -> str:
        return self.levels.get(sender, "ok")


class Counts:
    def __init__(self, per_window: dict[timedelta, int] | None = None) -> None:
        self.per_window = per_window or {}

    def sent_since(self, to: str, since: Sequence[datetime]) -> list[int]:
        return [self.per_window.get(NOW - instant, 0) for instant in since]


def pace_of(rate: float) -> list[tuple[str, Pace]]:
    return [("sender:s", Pace.of(rate))]


def message(sender: str = WHATSAPP, kind: str = "template", to: str = "whatsapp:+573001112233") -> OutboundMessage:
    return OutboundMessage.request(chat_id="", campaign_id="", kind=kind, channel="whatsapp", to=to, sender=sender,
                                   content_sid="HX" + "a" * 32, actor="t", at=NOW)


def throttle(buckets: InProcessTokenBuckets, *, levels: dict[str, str] | None = None, counts: Counts | None = None,
             rates: dict[str, float] | None = None, account_rate: float = 2000.0) -> Throttle:
    return Throttle(buckets, FixedLevels(levels), counts or Counts(), FixedClock(NOW),
                    ThrottleSettings(account_key="AC1", sender_rates=rates or {}, account_rate=account_rate,
                                     caps=CustomerCaps(per_day=2, per_week=5)))


def test_a_full_bucket_gives_one_second_of_its_rate_then_one_token_per_interval() -> None:
    time = ManualTime()
    buckets = InProcessTokenBuckets(time)
    assert all(buckets.take(f"m{n}", "s", REPLY, pace_of(80)) == 0 for n in range(81))  # 80 + the bulk reserve
    assert buckets.take("late", "s", REPLY, pace_of(80)) == pytest.approx(1 / 80)
    time.now += 1 / 80
    assert buckets.take("late", "s", REPLY, pace_of(80)) == 0


def test_waiters_of_a_lane_are_told_their_own_turn_in_the_order_they_came() -> None:
    time = ManualTime()
    buckets = InProcessTokenBuckets(time)
    buckets.take("first", "s", REPLY, pace_of(1))
    buckets.take("second", "s", REPLY, pace_of(1))
    assert [buckets.take(m, "s", REPLY, pace_of(1)) for m in ("a", "b", "c", "a")] == [1.0, 2.0, 3.0, 1.0]
    time.now += 1.0
    assert buckets.take("a", "s", REPLY, pace_of(1)) == 0
    assert buckets.take("b", "s", REPLY, pace_of(1)) == pytest.approx(1.0), "b is first in line now"


def test_over_a_minute_a_bucket_grants_its_rate_and_no_more() -> None:
    time = ManualTime()
    buckets = InProcessTokenBuckets(time)
    granted, step = 0, 0.001
    while time.now < 1060.0:
        while buckets.take(f"m{granted}", "s", BULK, pace_of(80)) == 0:
            granted += 1
        time.now += step
    assert 80 * 60 <= granted <= 80 * 60 + 81


def test_bulk_leaves_the_last_token_to_replies() -> None:
    time = ManualTime()
    buckets = InProcessTokenBuckets(time)
    assert buckets.take("b0", "s", BULK, pace_of(1)) == 0  # an SMS long code holds 2 tokens: bulk leaves one
    assert buckets.take("b1", "s", BULK, pace_of(1)) == pytest.approx(1.0)
    assert buckets.take("reply", "s", REPLY, pace_of(1)) == 0, "bulk waiting does not hold a reply back"
    assert buckets.take("b1", "s", BULK, pace_of(1)) == pytest.approx(2.0)


def test_a_token_comes_from_the_sender_and_the_account_together_or_from_neither() -> None:
    time = ManualTime()
    buckets = InProcessTokenBuckets(time)
    account = ("account:AC1", Pace.of(3))
    assert [buckets.take(f"a{n}", "a", REPLY, [("sender:a", Pace.of(80)), account]) for n in range(4)] == [0] * 4
    assert buckets.take("b0", "b", REPLY, [("sender:b", Pace.of(80)), account]) == pytest.approx(1 / 3)
    time.now += 1 / 3
    assert buckets.take("b0", "b", REPLY, [("sender:b", Pace.of(80)), account]) == 0


def test_a_message_waiting_for_a_token_is_counted_once_until_it_gets_one() -> None:
    time = ManualTime()
    buckets = InProcessTokenBuckets(time)
    for n in range(3):
        buckets.take(f"m{n}", "s", BULK, pace_of(1))
    buckets.take("m2", "s", BULK, pace_of(1))
    assert buckets.waiting() == {"s": 2}
    time.now += 2.0
    assert buckets.take("m1", "s", BULK, pace_of(1)) == 0
    assert buckets.waiting() == {"s": 1}
    time.now += WAITING_STALE_SECONDS + 1
    assert buckets.waiting() == {}


def test_the_longest_wait_counts_from_when_a_message_first_asked_even_while_held_and_rechecked() -> None:
    time = ManualTime()
    buckets = InProcessTokenBuckets(time)
    buckets.take("m0", "s", BULK, pace_of(0.01))
    buckets.take("m1", "s", BULK, pace_of(0.01))
    buckets.hold("h1", "t")
    time.now += 30.0
    buckets.take("m1", "s", BULK, pace_of(0.01))  # asking again keeps its first instant
    buckets.hold("h1", "t")  # a held message's recheck too
    time.now += 15.0
    assert buckets.waiting_lines() == {"s": WaitingLine(1, 45.0), "t": WaitingLine(1, 45.0)}
    buckets.release("h1", "t")
    assert buckets.waiting_lines() == {"s": WaitingLine(1, 45.0)}


def test_caps_refuse_the_next_business_initiated_message_with_the_reason() -> None:
    buckets = InProcessTokenBuckets(ManualTime())
    capped = throttle(buckets, counts=Counts({timedelta(hours=24): 2, timedelta(days=7): 2}))
    refusal = capped.admit(message(), BULK)
    assert refusal is not None and "24 horas" in refusal and "máximo 2" in refusal
    assert capped.admit(message(kind="closing"), BULK) is None, "the close's confirmation is never refused"
    assert capped.admit(message(kind="agent"), REPLY) is None, "replies are not business-initiated"
    weekly = throttle(buckets, counts=Counts({timedelta(hours=24): 1, timedelta(days=7): 5}))
    assert "7 días" in (weekly.admit(message(), BULK) or "")


def test_at_critical_risk_bulk_waits_and_replies_still_go() -> None:
    time = ManualTime()
    buckets = InProcessTokenBuckets(time)
    critical = throttle(buckets, levels={WHATSAPP: "critical"})
    bulk = message()
    with pytest.raises(SendPostponedError) as postponed:
        critical.admit(bulk, BULK)
    assert postponed.value.seconds == CRITICAL_RECHECK_SECONDS
    assert critical.waiting_for_token() == {WHATSAPP: 1}
    time.now += WAITING_STALE_SECONDS - 1
    with pytest.raises(SendPostponedError):
        critical.admit(bulk, BULK)  # the worker looks again a minute later, and so on
    time.now += 2
    assert critical.waiting_for_token() == {WHATSAPP: 1}, "a message held at critical never goes stale"
    assert critical.admit(message(kind="agent"), REPLY) is None
    assert critical.admit(message(kind="closing"), BULK) is None, "a close's confirmation is not proactive"
    resumed = throttle(buckets)
    assert resumed.admit(bulk, BULK) is None
    assert resumed.waiting_for_token() == {}


def test_at_high_risk_a_sender_slows_to_a_fraction_of_its_rate() -> None:
    time = ManualTime()
    high = throttle(InProcessTokenBuckets(time), levels={SMS: "high"}, rates={SMS: 10})
    sent = 0
    with pytest.raises(SendPostponedError) as postponed:
        for _ in range(100):
            high.admit(message(sender=SMS, kind="agent"), REPLY)
            sent += 1
    assert sent == 6  # 5 per second at half of 10, plus the reserve
    assert postponed.value.seconds == pytest.approx(1 / 5)


def test_the_account_rate_bounds_all_senders_together() -> None:
    limited = throttle(InProcessTokenBuckets(ManualTime()), account_rate=2)
    results = []
    for sender in (WHATSAPP, "whatsapp:+5716000002", "whatsapp:+5716000003", "whatsapp:+5716000004"):
        try:
            results.append(limited.admit(message(sender=sender, kind="agent"), REPLY))
        except SendPostponedError:
            results.append("wait")
    assert results == [None, None, None, "wait"]


@given(arrivals=st.lists(st.floats(min_value=0.0, max_value=2.0), min_size=1, max_size=20),
       bulk_every=st.floats(min_value=0.001, max_value=0.05), rate=st.sampled_from([1.0, 5.0, 80.0]))
def test_a_reply_never_waits_behind_bulk_longer_than_one_token_interval(
        arrivals: list[float], bulk_every: float, rate: float) -> None:
    """Bulk tries for a token as often as it likes; replies arrive at most one per interval; each reply gets its
    token within one interval of arriving."""
    interval = 1 / rate
    replies = sorted({round(t / interval) * interval for t in arrivals})  # at most one per interval
    time = ManualTime()
    start = time.now
    buckets = InProcessTokenBuckets(time)
    bulk_n, waits = 0, []
    for reply_at in replies:
        while time.now < start + reply_at:  # bulk takes every token it may until the reply arrives
            while buckets.take(f"b{bulk_n}", "s", BULK, pace_of(rate)) == 0:
                bulk_n += 1
            time.now = min(time.now + bulk_every, start + reply_at)
        arrived = time.now
        while (wait := buckets.take(f"r{reply_at}", "s", REPLY, pace_of(rate))) > 0:
            buckets.take(f"b{bulk_n}", "s", BULK, pace_of(rate))  # bulk keeps trying meanwhile
            time.now += wait
        waits.append(time.now - arrived)
    assert max(waits) <= interval + 1e-9


def test_sender_defaults_follow_twilio() -> None:
    assert default_rate(WHATSAPP) == 80 and default_rate(SMS) == 1 and default_rate("89898") == 100
    assert default_rate("MG" + "0" * 32) == 1


def test_a_reply_is_a_message_while_the_customer_wrote_within_24_hours() -> None:
    assert lane_of(NOW - timedelta(hours=23), NOW) == REPLY
    assert lane_of(NOW - timedelta(hours=25), NOW) == BULK
    assert lane_of(None, NOW) == BULK


class Outbound:
    def __init__(self, waits: list[float]) -> None:
        self.waits = waits
        self.sent = 0

    def send(self, message_id: str) -> str:
        if self.waits:
            raise SendPostponedError(self.waits.pop(0), "waiting for a token")
        self.sent += 1
        return "queued"


def test_the_worker_waits_in_its_thread_for_a_token_due_soon() -> None:
    outbound, slept = Outbound([0.0125, 0.0125]), []
    send_when_paced(outbound, "m", sleep=slept.append)  # type: ignore[arg-type]
    assert (outbound.sent, slept) == (1, [0.0125, 0.0125])


def test_a_longer_wait_goes_back_to_the_broker_with_its_delay() -> None:
    outbound, slept = Outbound([1.5, PACE_WAIT_IN_THREAD]), []
    with pytest.raises(dramatiq.Retry) as retry:
        send_when_paced(outbound, "m", sleep=slept.append)  # type: ignore[arg-type]
    assert (outbound.sent, slept, retry.value.delay) == (0, [1.5], 2000)
