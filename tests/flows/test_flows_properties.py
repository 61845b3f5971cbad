"""Properties over any sequence of messages: never raises, state round-trips, replies are sane."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from flows import Flow, Incoming, IncomingKind, Outcome, State, advance
from flows.commands import ALWAYS_ANSWERED, parse_command
from flows.conversation import STATUSES

BASE = datetime(2025, 1, 1, tzinfo=UTC)
ZONES = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5)), None]
INTERESTING = [
    "/start", "/start abc", "/help", "/stop", "/mydata", "/forget", "/foo", "/", "/start@Bot",
    "stop", "STOP", "unsubscribe", "stop messaging me", "hi", "Hello!", "good morning",
    "yes", "no", "y", "1", "2", "3", "1.", "skip", "pass", "next", "rather not say",
    "Yes please", "No thanks", "yes delete", "better", "same", "worse", "👍", "👎", "😊",
    "", "   ", "LS9", "LS9 7AB", "14 Elm Road", "Harehills", "What? Why? How?",
]  # fmt: skip

texts = st.one_of(st.sampled_from(INTERESTING), st.sampled_from(INTERESTING), st.text(max_size=60))
kinds = st.one_of(st.just(IncomingKind.TEXT), st.sampled_from(IncomingKind))
gaps = st.one_of(st.floats(0, 2), st.floats(0, 200))  # hours: mostly minutes, sometimes days
choices = st.one_of(st.none(), st.sampled_from(["yes", "no", "skip", "better", "same"]), st.text())


@st.composite
def incomings(draw: st.DrawFn) -> list[Incoming]:
    """A run of messages of any kind with the clock moving forward (sometimes by days)."""
    moments = draw(st.lists(gaps, min_size=1, max_size=40))
    now, result = BASE, []
    for hours in moments:
        now += timedelta(hours=hours)
        zone = draw(st.sampled_from(ZONES))
        at = now.astimezone(zone) if zone else now.replace(tzinfo=None)
        kind = draw(kinds)
        text, choice, truncated = draw(texts), draw(choices), draw(st.booleans())
        result.append(Incoming(kind, at, text, choice, truncated))
    return result


def check_outcome(flows: dict[str, Flow], before: State, incoming: Incoming, out: Outcome) -> None:
    state = out.state
    assert State.from_json(state.to_json()) == state
    assert state.status in STATUSES
    if state.status == "active":
        flow = flows[state.flow]
        assert flow.step(state.step) is not None
    for reply in out.replies:
        assert reply.text.strip()
        assert reply.text.count("?") <= 1
        assert all(c.label.strip() and c.value for c in reply.choices)
    if before.status == "stopped":
        allowed = parse_command(incoming) in ALWAYS_ANSWERED or before.awaiting_forget_confirmation
        assert allowed or (not out.replies and not out.effects)


def run(flows: dict[str, Flow], state: State, messages: list[Incoming], default: str) -> None:
    for incoming in messages:
        outcome = advance(flows, state, incoming, default_flow=default)
        check_outcome(flows, state, incoming, outcome)
        state = State.from_json(outcome.state.to_json())
        event(f"reached {state.status}")


STARTS = [
    State(),
    State("listening", "hear_back", "active", last_activity_at=BASE),
    State("listening", "area", "active", last_activity_at=BASE),
    State("pulse", "difference", "active", last_activity_at=BASE),
    State("listening", None, "completed"),
    State("listening", "matters", "active", awaiting_forget_confirmation=True),
    State("listening", None, "stopped"),
    State("listening", None, "stopped", awaiting_forget_confirmation=True),
]


@settings(max_examples=500, deadline=None)
@given(
    start=st.sampled_from(STARTS),
    messages=incomings(),
    default=st.sampled_from(["listening", "pulse"]),
)
def test_any_messages_from_a_known_state(
    flows: dict[str, Flow], start: State, messages: list[Incoming], default: str
) -> None:
    run(flows, start, messages, default)


json_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
state_dicts = st.fixed_dictionaries(
    {},
    optional={
        "flow": st.one_of(json_values, st.sampled_from(["listening", "pulse"])),
        "step": st.one_of(json_values, st.sampled_from(["matters", "hear_back", "area", "how"])),
        "status": st.one_of(json_values, st.sampled_from(sorted(STATUSES))),
        "awaiting_forget_confirmation": json_values,
        "started_at": st.one_of(json_values, st.just("2024-12-31T10:00:00+00:00")),
        "last_activity_at": st.one_of(json_values, st.just("2024-12-31T23:00:00")),
        "answered": st.one_of(json_values, st.lists(st.text(max_size=10), max_size=3)),
    },
)


@settings(max_examples=300, deadline=None)
@given(data=state_dicts, messages=incomings())
def test_any_messages_from_any_stored_state(
    flows: dict[str, Flow], data: dict[str, Any], messages: list[Incoming]
) -> None:
    run(flows, State.from_json(data), messages, "listening")


@settings(max_examples=100, deadline=None)
@given(messages=incomings())
def test_any_messages_with_no_flows_at_all(messages: list[Incoming]) -> None:
    state = State()
    for incoming in messages:
        state = advance({}, state, incoming).state
        assert state.status != "active"
