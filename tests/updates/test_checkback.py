"""The check-back question and what the engine does with its answers (pure, no database)."""

from __future__ import annotations

from flows import advance, load_flows
from flows.checkback import CHECKBACK, checkback_state, update_text, with_checkback
from flows.types import AnswerRecorded, Incoming, IncomingKind
from tests.updates.conftest import NOW

FLOWS = load_flows()


def test_the_question_fits_every_channel() -> None:
    first = FLOWS[CHECKBACK].steps[0]
    reply = with_checkback(FLOWS, update_text("Damp", "Fixed."))
    assert reply.text == "You said, we did: Damp\n\nFixed.\n\nDoes this help?"
    assert [c.label for c in reply.choices] == ["Yes", "Not really", "Tell us more"]
    assert len(reply.choices) <= 3  # WhatsApp's reply buttons
    assert all(len(c.label) <= 20 for c in reply.choices)
    assert first.free_text and not first.skippable


def answer(text: str, choice: str | None = None) -> tuple[str | None, str, tuple[object, ...]]:
    kind = IncomingKind.CHOICE if choice else IncomingKind.TEXT
    outcome = advance(
        FLOWS, checkback_state(FLOWS, NOW), Incoming(kind, NOW, text=text, choice=choice)
    )
    replies = " ".join(r.text for r in outcome.replies)
    return outcome.state.step, replies, outcome.effects


def test_yes_ends_it_and_the_others_ask_for_more() -> None:
    step, replies, effects = answer("Yes", "yes")
    assert step is None and "good to hear" in replies
    assert AnswerRecorded(CHECKBACK, "helped", "yes") in effects
    for typed in ("not really", "Tell us more", "3"):
        step, replies, _ = answer(typed)
        assert step == "more" and "What would you like to tell us" in replies


def test_any_other_text_is_taken_as_the_answer() -> None:
    step, _, effects = answer("the mould is back already")
    assert step is None
    assert AnswerRecorded(CHECKBACK, "helped", None) in effects
