"""Resident commands, handled before any flow: /start, /help, /stop, /mydata, /forget."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum

from flows.conversation import (
    ACTIVE,
    FORGET_OPTIONS,
    STOPPED,
    Turn,
    choose,
    current_question,
    forget_question,
    start,
)
from flows.text import normalise
from flows.types import (
    ContactStopped,
    ConversationEnded,
    DataSummaryRequested,
    Effect,
    ErasureConfirmed,
    Incoming,
    IncomingKind,
    Outcome,
    Reply,
    State,
)

HELP = (
    "I'm a listening service. I ask a few short questions about life round here and pass "
    "what people say to local health and community services, so they can act on it. "
    "I'm not an emergency service: in an emergency call 999, and for urgent health advice "
    "call NHS 111.\n\n"
    "You can send these at any time:\n"
    "/start — start the questions from the beginning\n"
    "/help — this message\n"
    "/stop — stop all messages from me\n"
    "/mydata — see what we hold about you\n"
    "/forget — delete what we hold about you\n\n"
    "You can skip any question."
)
UNKNOWN = "Sorry, I don't know that command. You can send /start, /help, /stop, /mydata or /forget."
STOPPED_REPLY = "OK, I won't send you any more messages. If you change your mind, send /start."
ERASED = (
    "Done. Everything we held about you has been deleted. Send /start if you'd like to talk again."
)
NOT_DELETED = "Nothing has been deleted."

STOP_WORDS = frozenset(
    {"stop", "unsubscribe", "stop messaging me", "stop messaging", "stop messages"}
    | {"stop texting me", "stop all", "opt out", "stop it"}
)
GREETINGS = frozenset(
    {"hi", "hello", "hiya", "hey", "heya", "good morning", "good afternoon", "good evening"}
    | {"alright", "howdy", "hi there", "hello there", "hey there", "hiya there", "morning"}
    | {"afternoon", "evening", "hey up", "ey up", "hallo", "hullo", "alright mate", "hey hey"}
)


class Command(StrEnum):
    """A resident command; UNKNOWN is any other text starting with "/"."""

    START = "start"
    HELP = "help"
    STOP = "stop"
    MYDATA = "mydata"
    FORGET = "forget"
    UNKNOWN = "unknown"


ALWAYS_ANSWERED = frozenset({Command.START, Command.HELP, Command.MYDATA, Command.FORGET})


def parse_command(incoming: Incoming) -> Command | None:
    """The command a text is, if any: "/start payload", "/help@SomeBot", "STOP"."""
    if incoming.kind != IncomingKind.TEXT:
        return None
    text = incoming.text.strip()
    if text.startswith("/"):
        words = text[1:].split(maxsplit=1)
        name = words[0].split("@")[0].casefold() if words else ""
        return next((c for c in Command if c == name and c != Command.UNKNOWN), Command.UNKNOWN)
    return Command.STOP if normalise(text) in STOP_WORDS else None


def is_greeting(incoming: Incoming) -> bool:
    """True for a plain hello ("Hi!", "good morning", "Hiya 👋"), and nothing more."""
    return incoming.kind == IncomingKind.TEXT and normalise(incoming.text) in GREETINGS


def handle(turn: Turn, state: State, command: Command) -> Outcome:
    """Carry out `command` for a resident who has not said stop (or who may still use it)."""
    if command == Command.START:
        return start(turn, state)
    if command == Command.STOP:
        return _stop(state)
    if command == Command.MYDATA:
        return Outcome(state, (), (DataSummaryRequested(),))
    if command == Command.FORGET:
        return Outcome(replace(state, awaiting_forget_confirmation=True), (forget_question(),))
    text = HELP if command == Command.HELP else UNKNOWN
    return Outcome(state, (Reply(text), *current_question(turn, state)))


def while_stopped(turn: Turn, state: State, command: Command | None) -> Outcome:
    """After stop, only /start, /help, /mydata, /forget (and its confirmation) get an answer."""
    if command in ALWAYS_ANSWERED:
        return handle(turn, state, command)
    if command is None and state.awaiting_forget_confirmation:
        return forget_answer(turn, state)
    return Outcome(state)


def forget_answer(turn: Turn, state: State) -> Outcome:
    """The reply to the /forget confirmation: erase on yes, otherwise keep everything."""
    if choose(FORGET_OPTIONS, False, turn.incoming) == "yes":
        return Outcome(State(), (Reply(ERASED),), (ErasureConfirmed(),))
    kept = replace(state, awaiting_forget_confirmation=False)
    return Outcome(kept, (Reply(NOT_DELETED), *current_question(turn, kept)))


def _stop(state: State) -> Outcome:
    effects: list[Effect] = [ContactStopped()]
    if state.status == ACTIVE:
        effects.append(ConversationEnded("stopped"))
    stopped = replace(state, status=STOPPED, step=None, awaiting_forget_confirmation=False)
    return Outcome(stopped, (Reply(STOPPED_REPLY),), tuple(effects))
