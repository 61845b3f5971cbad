"""A resident talking to the engine, one message at a time, with the clock moving on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from flows import Flow, Incoming, IncomingKind, Outcome, State, advance

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


class Talk:
    """Feeds incomings to `advance`, keeps the state (through JSON, as the runtime does)."""

    def __init__(
        self, flows: Mapping[str, Flow], state: State | None = None, default_flow: str = "listening"
    ) -> None:
        self.flows = flows
        self.state = state or State()
        self.default_flow = default_flow
        self.now = START
        self.last = Outcome(self.state)

    def send(self, incoming: Incoming) -> Outcome:
        self.last = advance(self.flows, self.state, incoming, default_flow=self.default_flow)
        self.state = State.from_json(self.last.state.to_json())
        assert self.state == self.last.state
        return self.last

    def say(self, text: str, *, minutes: float = 1, truncated: bool = False) -> Outcome:
        self.now += timedelta(minutes=minutes)
        return self.send(Incoming(IncomingKind.TEXT, self.now, text, truncated=truncated))

    def press(self, value: str, *, minutes: float = 1) -> Outcome:
        self.now += timedelta(minutes=minutes)
        return self.send(Incoming(IncomingKind.CHOICE, self.now, choice=value))

    def send_kind(self, kind: IncomingKind, *, minutes: float = 1) -> Outcome:
        self.now += timedelta(minutes=minutes)
        return self.send(Incoming(kind, self.now))

    @property
    def texts(self) -> list[str]:
        """The texts of the last outcome's replies."""
        return [r.text for r in self.last.replies]

    @property
    def asked(self) -> str:
        """The text of the last reply (usually the question now open)."""
        return self.last.replies[-1].text


def at_step(flows: Mapping[str, Flow], step: str, flow: str = "listening") -> Talk:
    """A talk already started and moved on (by skipping) to `step`."""
    talk = Talk(flows, default_flow=flow)
    talk.say("/start")
    while talk.state.step != step:
        assert talk.state.status == "active", f"never reached {step!r}"
        current = talk.flows[flow].step(talk.state.step)
        assert current is not None
        talk.press("skip" if current.skippable else current.choices[0].value)
    return talk
