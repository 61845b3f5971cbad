"""Whole conversations through the packaged flows, typed and with buttons."""

from __future__ import annotations

import pytest

from flows import (
    AnswerRecorded,
    AreaRecorded,
    Choice,
    ConsentRecorded,
    ConversationEnded,
    Flow,
)
from tests.flows.talk import Talk

LISTENING_STEPS = ["matters", "in_the_way", "strengths", "together", "decide", "hear_back", "area"]


def test_listening_flow_typed_from_hello_to_outro(flows: dict[str, Flow]) -> None:
    talk = Talk(flows)
    talk.say("Hiya!")
    intro = talk.texts[0]
    assert "999" in intro
    assert "111" in intro
    assert all(command in intro for command in ("/stop", "/mydata", "/forget"))
    assert "skip" in intro
    assert talk.asked == "What matters most to you about living round here?"
    assert talk.state.status == "active"
    assert talk.state.step == "matters"

    for answer in ["The park", "Damp flats", "Neighbours", "A walking group", "Us, really"]:
        step = talk.state.step
        assert step is not None
        assert talk.say(answer).effects == (AnswerRecorded("listening", step),)
        assert len(talk.last.replies) == 2  # an acknowledgement, then one question
    assert talk.asked.startswith("Can we message you")
    assert talk.last.replies[-1].choices == (Choice("yes", "Yes please"), Choice("no", "No thanks"))

    assert talk.say("Yes please").effects == (
        AnswerRecorded("listening", "hear_back", choice="yes"),
        ConsentRecorded("hear_back", granted=True, wording_version="hear_back-v1"),
    )
    assert talk.asked.startswith("Which area do you live in?")

    assert talk.say("harehills").effects == (
        AnswerRecorded("listening", "area"),
        AreaRecorded("Harehills"),
        ConversationEnded("completed"),
    )
    assert "/mydata" in talk.asked
    assert "/forget" in talk.asked
    assert talk.state.status == "completed"
    assert talk.state.step is None
    assert talk.state.answered == LISTENING_STEPS


def test_listening_flow_with_buttons_and_skips(flows: dict[str, Flow]) -> None:
    talk = Talk(flows)
    talk.say("/start")
    for _ in range(5):
        assert talk.press("skip").effects == ()
        assert talk.texts[0] == "No problem, let's move on."
    assert ConsentRecorded("hear_back", False, "hear_back-v1") in talk.press("no").effects
    assert talk.texts[0] == "That's fine, we won't message you about it."
    assert talk.press("skip").effects == (ConversationEnded("completed"),)
    assert talk.state.answered == LISTENING_STEPS


def test_every_question_is_skippable_except_consent(flows: dict[str, Flow]) -> None:
    steps = flows["listening"].steps
    assert [s.id for s in steps if not s.skippable] == ["hear_back"]
    assert all(flows["listening"].offered(s)[-1] == Choice("skip", "Skip") for s in steps[:5])


@pytest.mark.parametrize("typed", ["skip", "Pass", "next", "I'd rather not say", "Rather not say."])
def test_typed_skip_words_skip(flows: dict[str, Flow], typed: str) -> None:
    talk = Talk(flows)
    talk.say("/start")
    assert talk.say(typed).effects == ()
    assert talk.state.step == "in_the_way"


def test_acknowledgements_vary_by_step_and_are_kind(flows: dict[str, Flow]) -> None:
    talk = Talk(flows)
    talk.say("/start")
    acks = []
    for answer in ["a", "b", "c"]:
        talk.say(answer)
        acks.append(talk.texts[0])
    assert len(set(acks)) == 3
    assert acks[0] == "Thank you for telling me."


def test_after_completion_messages_are_passed_on(flows: dict[str, Flow]) -> None:
    talk = Talk(flows)
    talk.say("/start")
    while talk.state.status == "active":
        talk.press("skip" if talk.state.step != "hear_back" else "no")
    after = talk.say("One more thing: the bus stop")
    assert after.effects == (AnswerRecorded("listening", "after"),)
    assert talk.texts == [
        "Thanks — I've passed that on. Send /start to go through the questions again."
    ]
    assert talk.state.status == "completed"


@pytest.mark.parametrize(
    ("first", "branch_step"),
    [("Better", "better_why"), ("3", "worse_why"), ("👎", "worse_why")],
)
def test_pulse_branches_on_the_first_answer(
    flows: dict[str, Flow], first: str, branch_step: str
) -> None:
    talk = Talk(flows, default_flow="pulse")
    talk.say("/start")
    assert talk.asked == "How are things round here this week?"
    talk.say(first)
    assert talk.state.step == branch_step
    talk.say("The new crossing")
    assert talk.state.step == "difference"
    talk.say("More benches")
    assert talk.state.status == "completed"
    assert talk.state.answered == ["how", branch_step, "difference"]


@pytest.mark.parametrize("answer", ["same", "skip"])
def test_pulse_same_or_skip_goes_straight_to_the_last_question(
    flows: dict[str, Flow], answer: str
) -> None:
    talk = Talk(flows, default_flow="pulse")
    talk.say("/start")
    talk.press(answer)
    assert talk.state.step == "difference"


def test_pulse_records_the_chosen_value(flows: dict[str, Flow]) -> None:
    talk = Talk(flows, default_flow="pulse")
    talk.say("/start")
    assert talk.say("about the same").effects == (AnswerRecorded("pulse", "how", choice="same"),)
