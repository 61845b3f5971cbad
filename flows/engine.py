"""The conversation engine: state + one incoming message -> new state, replies and effects.

Pure and deterministic: no I/O and no clock (`incoming.at` is "now"). `advance` never
raises on a well-typed input and never mutates the state it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

from flows.area import AREA_SKIP_WORDS, read_area
from flows.commands import forget_answer, handle, is_greeting, parse_command, while_stopped
from flows.conversation import (
    ACTIVE,
    COMPLETED,
    IDLE,
    STATUSES,
    STOPPED,
    Turn,
    choose,
    current_question,
    open_step,
    question,
    start,
)
from flows.model import DEFAULT_AFTER, SKIP, Flow, Step
from flows.text import MAX_TEXT_CHARS, has_words, normalise
from flows.types import (
    AnswerRecorded,
    AreaRecorded,
    ConsentRecorded,
    ConversationEnded,
    Effect,
    ErasureConfirmed,
    Incoming,
    IncomingKind,
    Outcome,
    Reply,
    State,
)

ONLY_TEXT = "I can only read text for now — could you type it?"
EMPTY = "That message looked empty to me — could you type what you'd like to say?"
NO_WORDS_REPLY = "Thanks! I can only read words for now — could you type what you'd like to say?"
HELLO_AGAIN = "Hello again, good to hear from you. Here's where we'd got to."
TRUNCATED = f"That was a long message, so I kept the first {MAX_TEXT_CHARS:,} characters."
DIDNT_CATCH = "Sorry, I didn't quite catch that."
STALE_BUTTON = "Sorry, that button was for an earlier question."
STALE_BUTTON_AFTER = (
    "That button was for an earlier question. Send /start to go through the questions again."
)
POSTCODE_TRIMMED = "I've kept just the first part of your postcode, so we don't hold your address."


def advance(
    flows: Mapping[str, Flow], state: State, incoming: Incoming, *, default_flow: str = "listening"
) -> Outcome:
    """Take one incoming message: commands first, then the open question of the flow."""
    turn = Turn(flows, default_flow, incoming)
    state = replace(state, answered=list(state.answered))
    turn, state, ended = _tidy(turn, state)
    outcome = _dispatch(turn, state)
    new_state = outcome.state
    if not any(isinstance(e, ErasureConfirmed) for e in outcome.effects):
        started = new_state.started_at or turn.at
        new_state = replace(new_state, started_at=started, last_activity_at=turn.at)
    return Outcome(new_state, outcome.replies, (*ended, *outcome.effects))


def _tidy(turn: Turn, state: State) -> tuple[Turn, State, tuple[Effect, ...]]:
    """Close a conversation that has gone quiet too long or whose step no longer exists."""
    if state.status not in STATUSES:
        return turn, State(), ()
    if state.status != ACTIVE:
        return turn, state, ()
    where = open_step(turn, state)
    if where is None:
        return turn, State(), (ConversationEnded("restarted"),)
    if _hours_between(state.last_activity_at, turn.at) > where[0].expires_after_hours:
        return replace(turn, expired=True), State(), (ConversationEnded("expired"),)
    return turn, state, ()


def _hours_between(then: datetime | None, now: datetime) -> float:
    """Hours from `then` to `now`; a naive time is taken as UTC."""
    if then is None:
        return 0.0
    as_utc = [t if t.tzinfo is not None else t.replace(tzinfo=UTC) for t in (then, now)]
    return (as_utc[1] - as_utc[0]).total_seconds() / 3600


def _dispatch(turn: Turn, state: State) -> Outcome:
    """Route the message: stop rules, commands, /forget's answer, then the flow."""
    command = parse_command(turn.incoming)
    if state.status == STOPPED:
        return while_stopped(turn, state, command)
    if command is not None:
        return handle(turn, state, command)
    if state.awaiting_forget_confirmation:
        return forget_answer(turn, state)
    if state.status == IDLE or (state.status == COMPLETED and is_greeting(turn.incoming)):
        return start(turn, state)
    if state.status == COMPLETED:
        return _after(turn, state)
    if is_greeting(turn.incoming):
        return Outcome(state, (Reply(HELLO_AGAIN), *current_question(turn, state)))
    return _answer(turn, state)


def _unreadable(incoming: Incoming) -> str | None:
    """A kind reply when the message holds nothing we can read as text."""
    if incoming.kind not in (IncomingKind.TEXT, IncomingKind.CHOICE):
        return ONLY_TEXT
    if incoming.kind == IncomingKind.CHOICE and incoming.choice is not None:
        return None
    if not incoming.text.strip():
        return EMPTY
    return None if has_words(incoming.text) else NO_WORDS_REPLY


def _after(turn: Turn, state: State) -> Outcome:
    """A message after the flow is done: passed on to staff, not asked about."""
    if unreadable := _unreadable(turn.incoming):
        return Outcome(state, (Reply(unreadable),))
    if turn.incoming.kind == IncomingKind.CHOICE and turn.incoming.choice is not None:
        return Outcome(state, (Reply(STALE_BUTTON_AFTER),))
    flow = turn.flows.get(state.flow)
    thanks = Reply(flow.after if flow else DEFAULT_AFTER)
    note = (Reply(TRUNCATED),) if turn.incoming.truncated else ()
    return Outcome(state, (thanks, *note), (AnswerRecorded(state.flow, "after"),))


def _answer(turn: Turn, state: State) -> Outcome:
    """The resident's answer to the open question: a choice, Skip, free text or an area."""
    where = open_step(turn, state)
    if where is None:  # _tidy has already closed any conversation without an open step
        return start(turn, state)
    flow, step = where
    value = choose(step.choices, step.skippable, turn.incoming)
    if value is None and step.kind == "area" and step.skippable:
        value = SKIP if normalise(turn.incoming.text) in AREA_SKIP_WORDS else None
    if value == SKIP:
        return _move_on(turn, state, (flow, step), None, (), flow.skip_acknowledgement)
    if value is not None:
        return _chosen(turn, state, flow, step, value)
    if unreadable := _unreadable(turn.incoming):
        return Outcome(state, (Reply(unreadable),))
    if turn.incoming.kind == IncomingKind.CHOICE and turn.incoming.choice is not None:
        return Outcome(state, (Reply(STALE_BUTTON), question(flow, step)))
    if not step.free_text:
        return Outcome(state, (_didnt_catch(flow, step),))
    if step.kind == "area":
        return _area(turn, state, flow, step)
    recorded = (AnswerRecorded(state.flow, step.id),)
    return _move_on(turn, state, (flow, step), None, recorded, flow.acknowledgement(step))


def _chosen(turn: Turn, state: State, flow: Flow, step: Step, value: str) -> Outcome:
    """One of the step's choices was picked; a consent step also records the consent."""
    effects: list[Effect] = [AnswerRecorded(state.flow, step.id, choice=value)]
    if step.consent is not None:
        purpose, version = step.consent.purpose, step.consent.wording_version
        effects.append(ConsentRecorded(purpose, value == "yes", version))
    option = next((o for o in step.choices if o.value == value), None)
    ack = option.acknowledgement if option and option.acknowledgement else None
    return _move_on(turn, state, (flow, step), value, effects, ack or flow.acknowledgement(step))


def _area(turn: Turn, state: State, flow: Flow, step: Step) -> Outcome:
    """An area answer: kept as a district or neighbourhood, or kindly asked for again."""
    answer = read_area(turn.incoming.text)
    if answer.area is None:
        return Outcome(state, (Reply(answer.problem or ""), question(flow, step)))
    ack = f"Thanks, I've noted {answer.area}."
    if answer.trimmed_postcode:
        ack = f"{ack} {POSTCODE_TRIMMED}"
    effects = (AnswerRecorded(state.flow, step.id), AreaRecorded(answer.area))
    return _move_on(turn, state, (flow, step), None, effects, ack)


def _move_on(
    turn: Turn,
    state: State,
    where: tuple[Flow, Step],
    value: str | None,
    effects: tuple[Effect, ...] | list[Effect],
    acknowledgement: str,
) -> Outcome:
    """Acknowledge the answer, then ask the next question or finish with the outro."""
    flow, step = where
    replies = [Reply(acknowledgement)] + ([Reply(TRUNCATED)] if turn.incoming.truncated else [])
    answered = [*state.answered, step.id]
    following = flow.step(flow.next_step_id(step, value))
    if following is None:
        done = replace(state, step=None, status=COMPLETED, answered=answered)
        ended = ConversationEnded("completed")
        return Outcome(done, (*replies, Reply(flow.outro)), (*effects, ended))
    moved = replace(state, step=following.id, answered=answered)
    return Outcome(moved, (*replies, question(flow, following)), tuple(effects))


def _didnt_catch(flow: Flow, step: Step) -> Reply:
    """A gentle re-ask of a choice question, naming the options."""
    offered = flow.offered(step)
    labels = [f'"{c.label}"' for c in offered]
    listing = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"
    return Reply(f"{DIDNT_CATCH} {step.prompt} You can reply {listing}, or its number.", offered)
