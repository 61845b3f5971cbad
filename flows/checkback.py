"""The check-back question that ends every "you said, we did" update, from the checkback flow.

The runtime sends an update's text with this flow's first question and buttons, and opens
the flow at that step, so the resident's answer (a button or any text) is handled by the
engine like any other answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from flows.conversation import ACTIVE, question
from flows.model import Flow
from flows.types import Reply, State

CHECKBACK = "checkback"


def with_checkback(flows: Mapping[str, Flow], text: str) -> Reply:
    """`text` followed by the check-back question, with its choices as buttons."""
    flow = flows[CHECKBACK]
    asked = question(flow, flow.steps[0])
    return Reply(f"{text}\n\n{asked.text}", asked.choices)


def checkback_state(flows: Mapping[str, Flow], at: datetime) -> State:
    """A conversation waiting at the check-back question, as if the flow had just asked it."""
    first = flows[CHECKBACK].steps[0]
    return State(flow=CHECKBACK, step=first.id, status=ACTIVE, started_at=at, last_activity_at=at)


def update_text(title: str, body: str) -> str:
    """How an update reads on every channel, before the check-back question."""
    return f"You said, we did: {title.strip()}\n\n{body.strip()}"
