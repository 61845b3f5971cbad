"""Turning what a resident says about where they live into a coarse, safe-to-hold area.

We keep a postcode district (the outward code, "LS9") or a neighbourhood name, never a
full postcode or a street address: an area is enough to send the right updates and to
see patterns, and anything finer would identify a household.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.text import NO_WORDS

# Outward code: area letters, district digit, optional digit or letter ("LS9", "M14", "SW1A").
_DISTRICT = r"[A-Z]{1,2}[0-9][A-Z0-9]?"
_DISTRICT_ONLY = re.compile(rf"^({_DISTRICT})$")
_FULL_POSTCODE = re.compile(rf"\b({_DISTRICT})\s*[0-9][A-Z]{{2}}\b")
_SECTOR = re.compile(rf"^({_DISTRICT})\s+[0-9]$")  # "LS9 7": keep the district
_NAME = re.compile(r"^[^\W\d_]+(?:(?:, ?|[ \-'])[^\W\d_]+)*$")
# Joining words that stay lower case inside place names ("Weston-super-Mare").
_SMALL_WORDS = frozenset(
    {"upon", "on", "in", "by", "the", "le", "de", "la", "en", "under", "and", "of", "cum"}
    | {"next", "super"}
)


# Typed at the area question, these mean "I'd rather not say", not a place called "Nowhere".
AREA_SKIP_WORDS = NO_WORDS | {"none", "nowhere", "not telling", "private", "none of your business"}
AREA_SKIP_WORDS |= {"don't know", "dont know", "not sure", "no idea", "anywhere"}


@dataclass(frozen=True)
class AreaAnswer:
    """The outcome of reading an area: `area` when usable, else `problem` to tell the resident."""

    area: str | None = None
    trimmed_postcode: bool = False  # a full postcode came in; only its district was kept
    problem: str | None = None


NOT_AN_AREA = (
    "Sorry, I couldn't read that as an area. A postcode district like LS9 or the name "
    "of your neighbourhood is plenty."
)
LOOKS_LIKE_ADDRESS = (
    "Thanks, but please don't send your street address — we don't need it. "
    "Just the first part of your postcode (like LS9) or your neighbourhood's name is plenty."
)


def read_area(text: str) -> AreaAnswer:
    """Read a postcode, postcode district or neighbourhood name; refuse street addresses."""
    cleaned = " ".join(text.replace("’", "'").split()).strip(" .,!")
    upper = cleaned.upper()
    if match := _DISTRICT_ONLY.match(upper) or _SECTOR.match(upper):
        return AreaAnswer(area=match.group(1))
    if match := _FULL_POSTCODE.search(upper):
        return AreaAnswer(area=match.group(1), trimmed_postcode=True)
    if any(ch.isdigit() for ch in cleaned):
        has_letters = any(ch.isalpha() for ch in cleaned)
        return AreaAnswer(problem=LOOKS_LIKE_ADDRESS if has_letters else NOT_AN_AREA)
    if 2 <= len(cleaned) <= 40 and _NAME.match(cleaned):
        return AreaAnswer(area=title_case(cleaned))
    return AreaAnswer(problem=NOT_AN_AREA)


def title_case(name: str) -> str:
    """ "st john's wood" -> "St John's Wood"; "newcastle upon tyne" -> "Newcastle upon Tyne"."""
    parts = re.split(r"([ \-])", name.lower())
    words = [
        part if index > 0 and part in _SMALL_WORDS else part[:1].upper() + part[1:]
        for index, part in enumerate(parts)
    ]
    return "".join(words)
