"""Resident commands in every status: /start, greetings, /help, /stop, /mydata, /forget."""

from __future__ import annotations

from dataclasses import replace

import pytest

from flows import (
    Choice,
    ContactResumed,
    ContactStopped,
    ConversationEnded,
    DataSummaryRequested,
    ErasureConfirmed,
    Flow,
    IncomingKind,
    State,
)
from flows.commands import HELP, STOPPED_REPLY, UNKNOWN
from tests.flows.talk import Talk

STATUSES = ["idle", "active", "completed", "stopped"]
FIRST_QUESTION = "What matters most to you about living round here?"


def in_status(flows: dict[str, Flow], status: str) -> Talk:
    """A talk whose state has `status` (active: on the second question)."""
    talk = Talk(flows)
    if status == "idle":
        return talk
    talk.say("/start")
    talk.say("Green spaces")
    if status == "completed":
        while talk.state.status == "active":
            talk.press("no" if talk.state.step == "hear_back" else "skip")
    if status == "stopped":
        talk.say("/stop")
    assert talk.state.status == status
    return talk


def untimed(state: State) -> State:
    return replace(state, started_at=None, last_activity_at=None)


@pytest.mark.parametrize("text", ["/start", "/start campaign-ls9", "/START", "/start@LPBot"])
@pytest.mark.parametrize("status", STATUSES)
def test_start_starts_the_default_flow_in_any_status(
    flows: dict[str, Flow], status: str, text: str
) -> None:
    talk = in_status(flows, status)
    outcome = talk.say(text)
    expected = {
        "idle": (),
        "active": (ConversationEnded("restarted"),),
        "completed": (),
        "stopped": (ContactResumed(),),
    }
    assert outcome.effects == expected[status]
    assert "999" in talk.texts[0]
    assert talk.asked == FIRST_QUESTION
    assert untimed(talk.state) == State(flow="listening", step="matters", status="active")
    assert talk.state.started_at == talk.now


@pytest.mark.parametrize(
    "greeting",
    [
        *["hi", "Hello!", "HIYA", "hey", "Heya", "good morning", "Good Afternoon."],
        *["good evening", "alright?", "howdy", "Hi there!", "hello 👋"],
    ],
)
def test_a_greeting_starts_when_no_conversation_is_active(
    flows: dict[str, Flow], greeting: str
) -> None:
    for status in ("idle", "completed"):
        talk = in_status(flows, status)
        assert talk.say(greeting).effects == ()
        assert talk.asked == FIRST_QUESTION


def test_a_greeting_mid_conversation_warmly_asks_again(flows: dict[str, Flow]) -> None:
    talk = in_status(flows, "active")
    before = talk.state
    assert talk.say("Hello").effects == ()
    assert talk.texts[0].startswith("Hello again")
    assert talk.asked == flows["listening"].steps[1].prompt
    assert untimed(talk.state) == untimed(before)


def test_any_message_when_idle_starts_the_flow(flows: dict[str, Flow]) -> None:
    talk = Talk(flows)
    talk.say("I want to talk about the buses")
    assert talk.state.step == "matters"
    assert talk.asked == FIRST_QUESTION


@pytest.mark.parametrize("status", STATUSES)
def test_help_explains_and_asks_the_open_question_again(
    flows: dict[str, Flow], status: str
) -> None:
    talk = in_status(flows, status)
    before = talk.state
    assert talk.say("/help").effects == ()
    assert talk.texts[0] == HELP
    for command in ("/start", "/stop", "/mydata", "/forget", "999", "111"):
        assert command in HELP
    reasked = [flows["listening"].steps[1].prompt] if status == "active" else []
    assert talk.texts[1:] == reasked
    assert untimed(talk.state) == untimed(before)


@pytest.mark.parametrize(
    "text", ["/stop", "stop", "STOP", "Stop.", "unsubscribe", "stop messaging me"]
)
@pytest.mark.parametrize("status", ["idle", "active", "completed"])
def test_stop_acknowledges_once_and_ends_the_conversation(
    flows: dict[str, Flow], status: str, text: str
) -> None:
    talk = in_status(flows, status)
    outcome = talk.say(text)
    ended = (ConversationEnded("stopped"),) if status == "active" else ()
    assert outcome.effects == (ContactStopped(), *ended)
    assert talk.texts == [STOPPED_REPLY]
    assert "/start" in STOPPED_REPLY
    assert talk.state.status == "stopped"
    assert talk.state.step is None


def test_after_stop_everything_else_is_met_with_silence(flows: dict[str, Flow]) -> None:
    talk = in_status(flows, "stopped")
    stopped = talk.state
    for text in ["stop", "/stop", "hello", "Yes please", "skip", "/foo", "👍", "", "LS9"]:
        outcome = talk.say(text)
        assert outcome.replies == ()
        assert outcome.effects == ()
    for kind in IncomingKind:
        outcome = talk.send_kind(kind)
        assert outcome.replies == ()
        assert outcome.effects == ()
    assert untimed(talk.state) == untimed(stopped)


@pytest.mark.parametrize("status", STATUSES)
def test_mydata_asks_the_runtime_for_a_summary_and_changes_nothing(
    flows: dict[str, Flow], status: str
) -> None:
    talk = in_status(flows, status)
    before = talk.state
    outcome = talk.say("/mydata")
    assert outcome.effects == (DataSummaryRequested(),)
    assert outcome.replies == ()
    assert untimed(talk.state) == untimed(before)
    assert talk.state.last_activity_at == talk.now


@pytest.mark.parametrize("yes", ["yes", "Yes", "1", "y", "yes delete", "Yes, delete it"])
@pytest.mark.parametrize("status", STATUSES)
def test_forget_confirmed_erases_and_resets(flows: dict[str, Flow], status: str, yes: str) -> None:
    talk = in_status(flows, status)
    assert talk.say("/forget").effects == ()
    assert talk.last.replies[0].choices == (
        Choice("yes", "Yes, delete it"),
        Choice("no", "No, keep it"),
    )
    assert talk.state.awaiting_forget_confirmation
    assert talk.say(yes).effects == (ErasureConfirmed(),)
    assert "deleted" in talk.texts[0]
    assert talk.state == State(status="idle")


def test_forget_confirmed_with_the_button(flows: dict[str, Flow]) -> None:
    talk = in_status(flows, "active")
    talk.say("/forget")
    assert talk.press("yes").effects == (ErasureConfirmed(),)
    assert talk.state == State()


@pytest.mark.parametrize("other", ["no", "2", "No, keep it", "hmm", "👍", "Green spaces"])
@pytest.mark.parametrize("status", STATUSES)
def test_forget_not_confirmed_keeps_everything(
    flows: dict[str, Flow], status: str, other: str
) -> None:
    talk = in_status(flows, status)
    before = talk.state
    talk.say("/forget")
    assert talk.say(other).effects == ()
    assert talk.texts[0] == "Nothing has been deleted."
    reasked = [flows["listening"].steps[1].prompt] if status == "active" else []
    assert talk.texts[1:] == reasked
    assert untimed(talk.state) == untimed(before)


def test_forget_not_confirmed_by_a_sticker_or_button_no(flows: dict[str, Flow]) -> None:
    talk = in_status(flows, "active")
    talk.say("/forget")
    talk.send_kind(IncomingKind.STICKER)
    assert talk.texts[0] == "Nothing has been deleted."
    talk.say("/forget")
    assert talk.press("no").effects == ()
    assert not talk.state.awaiting_forget_confirmation


def test_help_during_forget_asks_the_confirmation_again(flows: dict[str, Flow]) -> None:
    talk = in_status(flows, "active")
    talk.say("/forget")
    talk.say("/help")
    assert talk.asked.endswith("Shall I delete it?")
    assert talk.state.awaiting_forget_confirmation
    assert talk.say("yes").effects == (ErasureConfirmed(),)


@pytest.mark.parametrize("status", ["idle", "active", "completed"])
def test_unknown_command_names_the_commands(flows: dict[str, Flow], status: str) -> None:
    talk = in_status(flows, status)
    before = talk.state
    assert talk.say("/foo bar").effects == ()
    assert talk.texts[0] == UNKNOWN
    reasked = [flows["listening"].steps[1].prompt] if status == "active" else []
    assert talk.texts[1:] == reasked
    assert untimed(talk.state) == untimed(before)


def test_start_without_the_default_flow_says_sorry(flows: dict[str, Flow]) -> None:
    talk = Talk(flows, default_flow="missing")
    assert talk.say("/start").effects == ()
    assert talk.texts == ["Sorry, the questions aren't set up just now. Please try again later."]
    assert talk.state.status == "idle"
