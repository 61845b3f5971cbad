"""Odd and awkward input: stickers, emoji, long texts, typed choices, expiry, broken state."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from flows import (
    MAX_TEXT_CHARS,
    AnswerRecorded,
    ConsentRecorded,
    ConversationEnded,
    Flow,
    Incoming,
    IncomingKind,
    State,
    advance,
)
from flows.engine import EMPTY, NO_WORDS_REPLY, ONLY_TEXT, TRUNCATED
from tests.flows.talk import Talk, at_step


def untimed(state: State) -> State:
    return replace(state, started_at=None, last_activity_at=None)


@pytest.mark.parametrize(
    "kind", [IncomingKind.STICKER, IncomingKind.MEDIA, IncomingKind.UNSUPPORTED]
)
@pytest.mark.parametrize("step", ["matters", "hear_back", "area"])
def test_non_text_gets_a_kind_reply_and_changes_nothing(
    flows: dict[str, Flow], kind: IncomingKind, step: str
) -> None:
    talk = at_step(flows, step)
    before = talk.state
    assert talk.send_kind(kind).effects == ()
    assert talk.texts == [ONLY_TEXT]
    assert untimed(talk.state) == untimed(before)


@pytest.mark.parametrize(
    ("text", "reply"), [("", EMPTY), ("   \n", EMPTY), ("😊🙏", NO_WORDS_REPLY)]
)
@pytest.mark.parametrize("status", ["active", "completed"])
def test_empty_or_emoji_only_gets_a_kind_reply(
    flows: dict[str, Flow], text: str, reply: str, status: str
) -> None:
    talk = at_step(flows, "strengths")
    if status == "completed":
        talk.say("/stop")
        talk.say("/start")
        while talk.state.status == "active":
            talk.press("no" if talk.state.step == "hear_back" else "skip")
    before = talk.state
    assert talk.say(text).effects == ()
    assert talk.texts == [reply]
    assert untimed(talk.state) == untimed(before)


def test_thumbs_up_counts_only_where_a_flow_says_so(flows: dict[str, Flow]) -> None:
    pulse = Talk(flows, default_flow="pulse")
    pulse.say("/start")
    assert pulse.say("👍").effects == (AnswerRecorded("pulse", "how", choice="better"),)
    consent = at_step(flows, "hear_back")
    assert consent.say("👍").effects == ()  # consent needs words or a button
    assert consent.state.step == "hear_back"


def test_a_sticker_when_idle_starts_the_flow(flows: dict[str, Flow]) -> None:
    talk = Talk(flows)
    talk.send_kind(IncomingKind.STICKER)
    assert talk.state.step == "matters"


def test_a_truncated_answer_is_taken_with_a_note(flows: dict[str, Flow]) -> None:
    talk = at_step(flows, "in_the_way")
    outcome = talk.say("x" * MAX_TEXT_CHARS, truncated=True)
    assert outcome.effects == (AnswerRecorded("listening", "in_the_way"),)
    assert talk.texts[1] == TRUNCATED
    assert "first 2,000 characters" in TRUNCATED
    assert talk.state.step == "strengths"


def test_a_truncated_message_after_completion_is_noted_too(flows: dict[str, Flow]) -> None:
    talk = Talk(flows, default_flow="pulse")
    talk.say("/start")
    for _ in range(3):
        talk.press("skip")
    talk.say("y" * MAX_TEXT_CHARS, truncated=True)
    assert talk.texts[-1] == TRUNCATED


@pytest.mark.parametrize(
    ("typed", "granted"),
    [
        ("Yes please", True),
        ("yes please!", True),
        ("YES", True),
        ("1", True),
        ("1.", True),
        ("option 1", True),
        ("y", True),
        ("yeah", True),
        ("Yep", True),
        ("ok", True),
        ("sure", True),
        ("go on", True),
        ("Aye", True),
        ("No thanks", False),
        ("no", False),
        ("2", False),
        ("n", False),
        ("nope", False),
        ("nah", False),
        ("no thanks.", False),
    ],
)
def test_typed_answers_to_a_choice(flows: dict[str, Flow], typed: str, granted: bool) -> None:
    talk = at_step(flows, "hear_back")
    consent = ConsentRecorded("hear_back", granted, "hear_back-v1")
    assert consent in talk.say(typed).effects
    assert talk.state.step == "area"


@pytest.mark.parametrize("typed", ["maybe", "3", "0", "skip", "yes and no"])
def test_no_match_on_a_choice_only_step_re_asks_with_the_options(
    flows: dict[str, Flow], typed: str
) -> None:
    talk = at_step(flows, "hear_back")
    assert talk.say(typed).effects == ()
    assert talk.state.step == "hear_back"
    (reply,) = talk.last.replies
    assert reply.text.startswith("Sorry, I didn't quite catch that.")
    assert '"Yes please" or "No thanks"' in reply.text
    assert [c.value for c in reply.choices] == ["yes", "no"]


def test_a_button_from_an_earlier_question_is_not_taken(flows: dict[str, Flow]) -> None:
    talk = at_step(flows, "strengths")
    assert talk.press("yes").effects == ()
    assert talk.texts[0] == "Sorry, that button was for an earlier question."
    assert talk.state.step == "strengths"


def test_a_button_pressed_after_completion_is_not_passed_on(flows: dict[str, Flow]) -> None:
    talk = at_step(flows, "area")
    talk.say("skip")
    assert talk.press("yes").effects == ()
    assert talk.texts[0].startswith("That button was for an earlier question.")


def test_one_on_a_free_text_step_is_the_skip_option(flows: dict[str, Flow]) -> None:
    talk = at_step(flows, "matters")
    assert talk.say("1").effects == ()
    assert talk.state.step == "in_the_way"
    assert talk.say("2").effects == (AnswerRecorded("listening", "in_the_way"),)


def test_a_quiet_conversation_expires_and_starts_fresh(flows: dict[str, Flow]) -> None:
    talk = at_step(flows, "strengths")
    hours = flows["listening"].expires_after_hours
    outcome = talk.say("Hello again", minutes=hours * 60 + 1)
    assert outcome.effects == (ConversationEnded("expired"),)
    assert talk.texts[0].startswith("Welcome back")
    assert talk.asked == flows["listening"].steps[0].prompt
    assert untimed(talk.state) == State(flow="listening", step="matters", status="active")
    assert talk.state.started_at == talk.now


def test_a_conversation_just_inside_the_limit_carries_on(flows: dict[str, Flow]) -> None:
    talk = at_step(flows, "strengths")
    hours = flows["listening"].expires_after_hours
    outcome = talk.say("The library", minutes=hours * 60 - 1)
    assert outcome.effects == (AnswerRecorded("listening", "strengths"),)


def test_expiry_then_a_command_ends_without_starting(flows: dict[str, Flow]) -> None:
    talk = at_step(flows, "strengths")
    outcome = talk.say("/mydata", minutes=100 * 60)
    assert [type(e).__name__ for e in outcome.effects] == [
        "ConversationEnded",
        "DataSummaryRequested",
    ]
    assert talk.state.status == "idle"


def test_completed_and_stopped_conversations_do_not_expire(flows: dict[str, Flow]) -> None:
    talk = at_step(flows, "strengths")
    talk.say("stop")
    assert talk.say("hello", minutes=1000 * 60).replies == ()


def test_naive_and_aware_times_mix_without_error(flows: dict[str, Flow]) -> None:
    talk = at_step(flows, "strengths")
    naive = datetime(2030, 1, 1, 12, 0)
    outcome = advance(flows, talk.state, Incoming(IncomingKind.TEXT, naive, "hi"))
    assert outcome.effects == (ConversationEnded("expired"),)


def test_timestamps_are_set_on_every_advance(flows: dict[str, Flow]) -> None:
    talk = Talk(flows)
    talk.say("hi")
    started = talk.now
    talk.say("Parks", minutes=5)
    assert talk.state.started_at == started
    assert talk.state.last_activity_at == started + timedelta(minutes=5)


@pytest.mark.parametrize(
    "broken",
    [
        State(flow="gone", step="matters", status="active"),
        State(flow="listening", step="gone", status="active"),
        State(flow="listening", step=None, status="active"),
    ],
)
def test_a_conversation_on_a_missing_flow_or_step_restarts(
    flows: dict[str, Flow], broken: State
) -> None:
    talk = Talk(flows, state=broken)
    assert talk.say("Parks").effects == (ConversationEnded("restarted"),)
    assert talk.state.step == "matters"


def test_an_unknown_status_is_treated_as_fresh(flows: dict[str, Flow]) -> None:
    talk = Talk(flows, state=State(status="weird"))
    assert talk.say("hello").effects == ()
    assert talk.state.status == "active"


def test_advance_does_not_mutate_the_given_state(flows: dict[str, Flow]) -> None:
    state = State(flow="listening", step="matters", status="active", answered=["x"])
    snapshot = State.from_json(state.to_json())
    incoming = Incoming(IncomingKind.TEXT, datetime(2025, 1, 1), "Parks")
    advance(flows, state, incoming)
    assert state == snapshot
