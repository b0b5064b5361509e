"""Opt-out per channel (R11): where Twilio answers STOP itself, and what a refusal says the customer did."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.consent import KEYWORD, TWILIO_KEYWORD, TWILIO_REFUSAL, Consent, OptedOutError
from domain.messaging_rules import TWILIO_OPT_IN_WORDS, TWILIO_OPT_OUT_WORDS, twilio_keyword

AT = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)
long_codes = st.from_regex(r"\+[1-9]\d{7,14}", fullmatch=True)
short_codes = st.from_regex(r"\+?[1-9]\d{4,5}", fullmatch=True)
blanks = st.text(" \t\n", max_size=3)


def any_case(word: str, flips: list[bool]) -> str:
    return "".join(c.upper() if i < len(flips) and flips[i] else c for i, c in enumerate(word))


@given(word=st.sampled_from(TWILIO_OPT_OUT_WORDS + TWILIO_OPT_IN_WORDS), flips=st.lists(st.booleans(), max_size=8),
       before=blanks, after=blanks, number=long_codes, short_code=short_codes)
def test_twilio_answers_its_own_words_on_sms_long_codes_only(word: str, flips: list[bool], before: str, after: str,
                                                              number: str, short_code: str) -> None:
    said = before + any_case(word, flips) + after
    expected = "opt_out" if word in TWILIO_OPT_OUT_WORDS else "opt_in"
    assert twilio_keyword(said, "sms", number) == expected
    assert twilio_keyword(said, "whatsapp", "whatsapp:" + number) is None, "WhatsApp opt-out is Despacho's job"
    assert twilio_keyword(said, "sms", short_code) is None, "a standalone short code handles nothing"


@given(said=st.text(max_size=30), number=long_codes)
def test_twilio_answers_only_messages_that_are_exactly_one_of_its_words(said: str, number: str) -> None:
    assume(said.strip().casefold() not in TWILIO_OPT_OUT_WORDS + TWILIO_OPT_IN_WORDS)
    assert twilio_keyword(said, "sms", number) is None
    assert twilio_keyword(said + " por favor", "sms", number) is None


@given(said=st.text(max_size=30), channel=st.sampled_from(["sms", "whatsapp"]),
       opt_out_type=st.sampled_from(["STOP", "stop", "START"]))
def test_twilios_advanced_opt_out_report_is_followed_on_every_channel(said: str, channel: str,
                                                                       opt_out_type: str) -> None:
    expected = "opt_in" if opt_out_type == "START" else "opt_out"
    assert twilio_keyword(said, channel, "whatsapp:+5716000001", opt_out_type) == expected


def refusal(consent: Consent) -> str:
    """What a send to this customer is refused with."""
    with pytest.raises(OptedOutError) as refused:
        consent.check_may_receive()
    return str(refused.value)


written_words = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).map(str.strip) \
    .filter(bool)


@given(written=written_words, by_twilio=st.booleans())
def test_a_refusal_names_the_word_the_customer_actually_wrote(written: str, by_twilio: bool) -> None:
    consent = Consent.for_pair("+573001112233", "+5716000011", actor="t", at=AT)
    consent.opt_out((TWILIO_KEYWORD if by_twilio else KEYWORD) + written, actor="t", at=AT)
    assert f"«{written}»" in refusal(consent)
    assert consent.answered_by_twilio is by_twilio
    assert "BAJA" in written or "BAJA" not in refusal(consent)


def test_a_refusal_after_twilio_refused_a_send_says_so() -> None:
    consent = Consent.for_pair("+573001112233", "+5716000011", actor="t", at=AT)
    consent.opt_out(TWILIO_REFUSAL, actor="t", at=AT)
    assert "21610" in refusal(consent) and not consent.answered_by_twilio
    consent.opt_in(KEYWORD + "START", actor="t", at=AT)
    assert not consent.opted_out and not consent.answered_by_twilio
    consent.check_may_receive()
