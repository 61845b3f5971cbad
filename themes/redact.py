"""PII redaction: phone numbers, emails, postcodes, addresses and names become typed placeholders.

`redact(text)` gives the redacted text; `find_pii(text)` gives the spans (on the original
text) with their kinds; `redact_with_spans(text)` gives both. Redaction is idempotent: the
placeholders ([PHONE], [EMAIL], [POSTCODE], [ADDRESS], [NAME]) never match again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class PiiKind(StrEnum):
    """What was redacted; the value is the placeholder text."""

    PHONE = "[PHONE]"
    EMAIL = "[EMAIL]"
    POSTCODE = "[POSTCODE]"
    ADDRESS = "[ADDRESS]"
    NAME = "[NAME]"


@dataclass(frozen=True)
class PiiSpan:
    """One piece of personal information found in a text (character offsets)."""

    kind: PiiKind
    start: int
    end: int
    text: str


EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)

# UK numbers: 07700 900461, 07700900461, +44 7700 900461, +44 (0)7700 900 461, 0044 ...,
# (0161) 496 0000, 020 7946 0000, 0800 123 4567; spaces, dots or dashes between groups.
PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)\s?44\s?(?:\(0\)\s?)?|\(?0)"
    r"\d(?:[\s.\-()]{0,2}\d){8,9}(?!\d)"
)

POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR)\s?[0-9][A-Z]{2}(?![A-Za-z0-9])",
    re.IGNORECASE,
)

STREET_TYPES = (
    "road|rd|street|st|avenue|ave|close|lane|ln|drive|dr|way|court|ct|crescent|cres|place|pl|"
    "grove|gardens|gdns|terrace|tce|walk|row|square|sq|hill|mews|parade|view|rise|green|park|"
    "vale|fold|croft|gate|wynd|brae|boulevard|estate"
)
_STREET_WORD = r"(?!(?:the|a|an|our|my|your|his|her|their|this|that|on|in|at|of|to|down|up|"
_STREET_WORD += r"along|past|by|from|every|each|and|or|for|with|no|round|off|near|over)\b)"
_STREET_WORD += r"[A-Za-z][A-Za-z'\-]*"
ADDRESS = re.compile(
    r"(?<![\w\[])(?:(?:flat|apartment|apt|unit|room)\s*\d+[a-z]?,?\s+)?"
    r"\d{1,4}[a-z]?,?\s+(?:" + _STREET_WORD + r"\s+){1,3}(?:" + STREET_TYPES + r")\b\.?",
    re.IGNORECASE,
)
FLAT_ONLY = re.compile(r"(?<![\w\[])(?:flat|apartment|apt)\s+\d+[a-z]?\b", re.IGNORECASE)

# Words that follow "I'm"/"our"/"call me" but are not names.
_NOT_NAME_LINES = (
    "a an the not so just really very too fine ok okay good bad sorry sure here there",
    "home back out in on at off up down going trying looking struggling worried scared",
    "afraid tired sick fed done stuck new old alone lonely happy sad glad still always",
    "never only also from with a and but or if when after before about over under into",
    "onto this that these those it its i me my mine we us our you your he him his she her",
    "they them their who what why how where which one two three four five six seven eight",
    "nine ten hoping writing ringing asking waiting living stuck unemployed disabled",
    "pregnant retired carer mum dad nan gran son daughter kid kids child children lad",
    "lass house flat street road estate council area bus buses park school doctor gp",
    "neighbour neighbours family friends mates place town city community local monday",
    "tuesday wednesday thursday friday saturday sunday january february march april may",
    "june july august september october november december english british muslim",
    "christian black white asian polish irish scottish welsh gay trans deaf blind",
    "autistic dying dead desperate exhausted skint broke absolutely totally completely",
    "literally honestly proper pure right well sick nearly almost about around currently",
    "probably",
)
NOT_NAMES = frozenset(word for line in _NOT_NAME_LINES for word in line.split())
_NAME = r"([A-Z][a-z][A-Za-z'\-]*)(?![\w@])"
TITLE_NAME = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+" + _NAME)
INTRO_NAME = re.compile(
    r"\b(?:my\s+name\s+is|my\s+name's|call\s+me|i\s+go\s+by)\s+([A-Za-z][a-z'\-]+)(?![\w@])",
    re.IGNORECASE,
)
CAPITAL_INTRO = re.compile(r"\b(?:[Tt]his\s+is|[Ii]t's|[Ii]ts|I'm|I\s+am|Im|I’m)\s+" + _NAME)
OUR_NAME = re.compile(r"\b(?:[Oo]ur|[Mm]e\s+mate|[Mm]y\s+mate|[Mm]y\s+pal)\s+" + _NAME)
SIGN_OFF = re.compile(r"^" + _NAME + r"\s+here\b")
MAX_PASSES = 5

PATTERNS: tuple[tuple[PiiKind, re.Pattern[str]], ...] = (
    (PiiKind.EMAIL, EMAIL),
    (PiiKind.PHONE, PHONE),
    (PiiKind.POSTCODE, POSTCODE),
    (PiiKind.ADDRESS, ADDRESS),
    (PiiKind.ADDRESS, FLAT_ONLY),
)
NAME_PATTERNS = (TITLE_NAME, INTRO_NAME, CAPITAL_INTRO, OUR_NAME, SIGN_OFF)


def find_pii(text: str) -> list[PiiSpan]:
    """Non-overlapping PII spans in order; earlier kinds and longer spans win overlaps."""
    candidates: list[PiiSpan] = []
    for kind, pattern in PATTERNS:
        candidates.extend(_spans(kind, pattern, text, group=0))
    for pattern in NAME_PATTERNS:
        candidates.extend(
            span for span in _spans(PiiKind.NAME, pattern, text, group=1) if _is_name(span.text)
        )
    return _non_overlapping(candidates)


def _spans(kind: PiiKind, pattern: re.Pattern[str], text: str, group: int) -> list[PiiSpan]:
    found = []
    for match in pattern.finditer(text):
        start, end = match.span(group)
        found.append(PiiSpan(kind, start, end, text[start:end]))
    return found


def _is_name(word: str) -> bool:
    return word.lower() not in NOT_NAMES and not word.isupper()


def _non_overlapping(spans: list[PiiSpan]) -> list[PiiSpan]:
    order = list(PiiKind)
    ranked = sorted(spans, key=lambda s: (order.index(s.kind), -(s.end - s.start), s.start))
    chosen: list[PiiSpan] = []
    for span in ranked:
        if all(span.end <= c.start or c.end <= span.start for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def redact_with_spans(text: str) -> tuple[str, list[PiiSpan]]:
    """One redaction pass: the text and the spans (offsets in the original) it replaced."""
    spans = find_pii(text)
    pieces: list[str] = []
    position = 0
    for span in spans:
        pieces.append(text[position : span.start])
        pieces.append(span.kind.value)
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces), spans


def redact(text: str) -> str:
    """The text with phone numbers, emails, postcodes, addresses and names replaced.

    Passes repeat until nothing changes, so redact(redact(t)) == redact(t) always holds.
    """
    for _ in range(MAX_PASSES):
        redacted = redact_with_spans(text)[0]
        if redacted == text:
            break
        text = redacted
    return text
