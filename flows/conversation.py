"""What the engine and the resident commands share: one turn's context and common replies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flows.model import Flow, Option, Step
from flows.text import match_button, match_option
from flows.types import (
    ContactResumed,
    ConversationEnded,
    Effect,
    Incoming,
    IncomingKind,
    Outcome,
    Reply,
    State,
)

IDLE, ACTIVE, COMPLETED, STOPPED = "idle", "active", "completed", "stopped"
STATUSES = frozenset({IDLE, ACTIVE, COMPLETED, STOPPED})

WELCOME_BACK = "Welcome back. It's been a while, so let's start again from the beginning."
NOT_READY = "Sorry, the questions aren't set up just now. Please try again later."
FORGET_PROMPT = (
    "This deletes everything we hold about you — your answers, your choices and your area — "
    "and it can't be undone. Shall I delete it?"
)
FORGET_OPTIONS = (
    Option("yes", "Yes, delete it", synonyms=("yes delete", "yes delete it", "delete it")),
    Option("no", "No, keep it", synonyms=("keep it", "no keep it")),
)


@dataclass(frozen=True)
class Turn:
    """Everything one call of `advance` works from, besides the state."""

    flows: Mapping[str, Flow]
    default_flow: str
    incoming: Incoming
    expired: bool = False  # the previous conversation had gone quiet for too long

    @property
    def at(self) -> datetime:
        return self.incoming.at


def choose(options: tuple[Option, ...], skippable: bool, incoming: Incoming) -> str | None:
    """The choice value an incoming picks (button or typed), or None."""
    if incoming.kind == IncomingKind.CHOICE and incoming.choice is not None:
        return match_button(options, skippable, incoming.choice)
    if incoming.kind in (IncomingKind.TEXT, IncomingKind.CHOICE):
        return match_option(options, skippable, incoming.text)
    return None


def question(flow: Flow, step: Step) -> Reply:
    """A step's question, with its choices (and Skip when it is skippable)."""
    return Reply(step.prompt, flow.offered(step))


def forget_question() -> Reply:
    """The /forget confirmation question."""
    return Reply(FORGET_PROMPT, tuple(o.as_choice() for o in FORGET_OPTIONS))


def open_step(turn: Turn, state: State) -> tuple[Flow, Step] | None:
    """The flow and question the resident is on, when a conversation is active."""
    flow = turn.flows.get(state.flow) if state.status == ACTIVE else None
    step = flow.step(state.step) if flow is not None else None
    return (flow, step) if flow is not None and step is not None else None


def current_question(turn: Turn, state: State) -> tuple[Reply, ...]:
    """The question still waiting for an answer, to ask again; empty when there is none."""
    if state.awaiting_forget_confirmation:
        return (forget_question(),)
    where = open_step(turn, state)
    return (question(*where),) if where else ()


def start(turn: Turn, state: State) -> Outcome:
    """Start the default flow afresh: intro, then its first question."""
    effects: list[Effect] = []
    if state.status == STOPPED:
        effects.append(ContactResumed())
    if state.status == ACTIVE:
        effects.append(ConversationEnded("restarted"))
    flow = turn.flows.get(turn.default_flow)
    if flow is None or not flow.steps:
        return Outcome(State(), (Reply(NOT_READY),), tuple(effects))
    first = flow.steps[0]
    fresh = State(flow=turn.default_flow, step=first.id, status=ACTIVE, started_at=turn.at)
    welcome = (Reply(WELCOME_BACK),) if turn.expired else ()
    return Outcome(fresh, (*welcome, Reply(flow.intro), question(flow, first)), tuple(effects))
