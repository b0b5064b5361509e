"""What counts as an answer to the satisfaction survey, and the chat's rules for it: one answer per close, only
within its window, only after a close an agent attended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.chats import Chat, ChatError
from domain.surveys import COURTESY_WORDS, score_of

AT = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
NUMBER_WORDS = {"uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5}
punctuation = st.sampled_from(["", ".", "!", " ", "  ", "\n"])


@given(score=st.integers(1, 5), before=punctuation, after=punctuation)
def test_a_bare_score_is_an_answer_whatever_spaces_and_punctuation_surround_it(score: int, before: str,
                                                                                after: str) -> None:
    assert score_of(f"{before}{score}{after}") == score


@given(word=st.sampled_from(sorted(NUMBER_WORDS)), upper=st.booleans(), courtesy=st.lists(
    st.sampled_from(sorted(COURTESY_WORDS)), max_size=3))
def test_a_score_in_words_with_courtesy_words_is_an_answer(word: str, upper: bool, courtesy: list[str]) -> None:
    text = " ".join([*courtesy, word.upper() if upper else word, "estrellas"])
    assert score_of(text) == NUMBER_WORDS[word]


@given(score=st.integers(1, 5), spelling=st.sampled_from(["{}/5", "{} / 5", "{} de 5", "{} sobre 5", "{}⭐"]))
def test_a_score_out_of_five_is_the_score(score: int, spelling: str) -> None:
    assert score_of(spelling.format(score)) == score


@given(stars=st.integers(1, 5), selector=st.sampled_from(["", "\ufe0f"]))
def test_stars_count_as_the_score(stars: int, selector: str) -> None:
    assert score_of(("⭐" + selector) * stars) == stars


@given(number=st.integers().filter(lambda n: not 1 <= n <= 5))
def test_a_number_outside_one_to_five_is_not_an_answer(number: int) -> None:
    assert score_of(str(number)) is None


@given(first=st.integers(1, 5), second=st.integers(1, 5))
def test_two_scores_are_a_message_not_an_answer(first: int, second: int) -> None:
    assert score_of(f"{first} {second}") is None


@given(text=st.text(max_size=60))
def test_any_text_reads_as_no_answer_or_one_score_from_one_to_five(text: str) -> None:
    assert score_of(text) in {None, 1, 2, 3, 4, 5}


@pytest.mark.parametrize("message", ["tengo 2 preguntas", "hola", "quiero pagar 5 cuotas", "", "BAJA", "5 mil pesos"])
def test_an_ordinary_message_that_mentions_a_number_is_not_an_answer(message: str) -> None:
    assert score_of(message) is None


def attended_and_closed(reason: str = "agent") -> Chat:
    chat = Chat.open("whatsapp", "whatsapp:+573001112233", "whatsapp:+5716000001", profile_name="María",
                     flow_name="default", actor="t", at=AT)
    chat.receive_customer_message("SM1", "Hola", [], actor="t", at=AT)
    chat.enqueue("campaign-1", outside_hours=False, actor="t", at=AT)
    chat.assign("agent-1", {}, exceptional=False, reason="", actor="t", at=AT)
    chat.record_agent_reply("message-1", "agent-1", "session-1", actor="t", at=AT)
    chat.close(reason, disposition="acuerdo", note="", actor="t", at=AT)
    return chat


def test_a_close_takes_one_answer_within_its_window_credited_to_the_agent_who_held_it() -> None:
    chat = attended_and_closed()
    chat.request_survey("survey-1", answer_until=AT + timedelta(hours=24), actor="t", at=AT)
    chat.request_survey("survey-2", answer_until=AT + timedelta(hours=48), actor="t", at=AT)

    assert chat.accepts_survey_answer(AT + timedelta(hours=24))
    chat.answer_survey(4, "SM2", actor="t", at=AT + timedelta(hours=1))

    answered = [e for e in chat.collect_events() if isinstance(e, Chat.SurveyAnswered)]
    assert [(e.score, e.agent_id, e.campaign_id) for e in answered] == [(4, "agent-1", "campaign-1")]
    assert chat.survey_message_id == "survey-1", "asked once per close"
    assert not chat.accepts_survey_answer(AT + timedelta(hours=2)), "one answer per chat"
    with pytest.raises(ChatError):
        chat.answer_survey(5, "SM3", actor="t", at=AT + timedelta(hours=2))


def test_an_answer_after_the_window_is_refused() -> None:
    chat = attended_and_closed()
    chat.request_survey("survey-1", answer_until=AT + timedelta(hours=24), actor="t", at=AT)
    assert not chat.accepts_survey_answer(AT + timedelta(hours=24, seconds=1))
    with pytest.raises(ChatError):
        chat.answer_survey(5, "SM2", actor="t", at=AT + timedelta(hours=25))


def test_no_survey_after_an_opt_out_or_a_close_no_agent_wrote_in() -> None:
    opted_out = attended_and_closed("opt_out")
    never_answered = Chat.open("sms", "+573001112233", "+5716000001", profile_name="", flow_name="default",
                               actor="t", at=AT)
    never_answered.close("bot", disposition="", note="", actor="t", at=AT)
    for chat in (opted_out, never_answered):
        assert not chat.takes_survey
        with pytest.raises(ChatError):
            chat.request_survey("survey-1", answer_until=AT + timedelta(hours=24), actor="t", at=AT)
