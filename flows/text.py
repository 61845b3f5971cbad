"""Reading what residents type: normalising text and matching it to a step's choices."""

from __future__ import annotations

import re
import unicodedata

from flows.model import SKIP, Option

MAX_TEXT_CHARS = 2000  # the runtime cuts longer texts to this many characters

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

YES_WORDS = frozenset(
    {"y", "yes", "yeah", "yep", "yup", "yes please", "ok", "okay", "sure", "go on", "aye"}
    | {"yes thanks", "yes thank you", "of course", "definitely", "please"}
)
NO_WORDS = frozenset({"n", "no", "nope", "no thanks", "nah", "no thank you", "not really", "no ta"})
SKIP_WORDS = frozenset(
    {"skip", "pass", "next", "rather not say", "i'd rather not say", "id rather not say"}
    | {"prefer not to say", "i'd prefer not to say", "skip it", "skip this", "skip this one"}
    | {"next question", "no comment", "i'd rather not", "rather not"}
)


def normalise(text: str) -> str:
    """Lower-case words only: "Yes, please!" -> "yes please"; emoji and punctuation go."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    return " ".join(_WORD.findall(folded))


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit."""
    return any(ch.isalnum() for ch in text)


def _keys(text: str) -> set[str]:
    """What a typed text is compared on: its normalised words, or itself if it has none."""
    return {normalise(text)} if has_words(text) else {text.strip()}


def _option_keys(option: Option) -> set[str]:
    keys = {normalise(option.value), normalise(option.label)}
    return keys | {k for s in option.synonyms for k in _keys(s)}


def _number(text: str, count: int) -> int | None:
    """The option number a resident typed ("2", "2.", "option 2"), if it is in range."""
    words = normalise(text).removeprefix("option ")
    if words.isdecimal() and 1 <= int(words) <= count:
        return int(words) - 1
    return None


def match_option(options: tuple[Option, ...], skippable: bool, text: str) -> str | None:
    """The value a typed `text` picks among `options` (then Skip if offered), or None."""
    typed = _keys(text)
    for option in options:
        if typed & _option_keys(option):
            return option.value
    values = [o.value for o in options] + ([SKIP] if skippable else [])
    index = _number(text, len(values))
    if index is not None:
        return values[index]
    for word_set, value in ((YES_WORDS, "yes"), (NO_WORDS, "no")):
        if value in values and typed & word_set:
            return value
    return SKIP if skippable and typed & SKIP_WORDS else None


def match_button(options: tuple[Option, ...], skippable: bool, value: str) -> str | None:
    """The value of a pressed button, if it is still one of the step's choices."""
    values = {o.value for o in options} | ({SKIP} if skippable else set())
    return value if value in values else None
