"""The conversation engine and the flow definitions: pure state + incoming -> outcome."""

from flows.engine import advance
from flows.loader import load_flow, load_flows
from flows.model import Consent, Flow, FlowError, Option, Step
from flows.text import MAX_TEXT_CHARS
from flows.types import (
    AnswerRecorded,
    AreaRecorded,
    Choice,
    ConsentRecorded,
    ContactResumed,
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

__all__ = [
    "MAX_TEXT_CHARS",
    "AnswerRecorded",
    "AreaRecorded",
    "Choice",
    "Consent",
    "ConsentRecorded",
    "ContactResumed",
    "ContactStopped",
    "ConversationEnded",
    "DataSummaryRequested",
    "Effect",
    "ErasureConfirmed",
    "Flow",
    "FlowError",
    "Incoming",
    "IncomingKind",
    "Option",
    "Outcome",
    "Reply",
    "State",
    "Step",
    "advance",
    "load_flow",
    "load_flows",
]
