"""PII redaction: typed placeholders, UK formats, names where detectable, idempotence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from themes import PiiKind, find_pii, redact, redact_with_spans


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me on 07700 900461 if you want", "call me on [PHONE] if you want"),
        ("ring 07700900461", "ring [PHONE]"),
        ("+44 7700 900461 or +44 (0)7700 900 461", "[PHONE] or [PHONE]"),
        ("office (0161) 496 0000, london 020 7946 0000", "office [PHONE], london [PHONE]"),
        ("my email is jo.bloggs@example.com ta", "my email is [EMAIL] ta"),
        (
            "I live at 12 Acacia Close, M1 1AA, by the shop",
            "I live at [ADDRESS], [POSTCODE], by the shop",
        ),
        ("postcode is sw1a 2aa", "postcode is [POSTCODE]"),
        ("flat 3, 22 Kings St has damp", "[ADDRESS] has damp"),
        ("we're at 14 Elm Road", "we're at [ADDRESS]"),
        ("my name is Sarah", "my name is [NAME]"),
        ("my name is sarah", "my name is [NAME]"),
        ("I'm Dave and this is rubbish", "I'm [NAME] and this is rubbish"),
        ("our Jim does my shopping", "our [NAME] does my shopping"),
        ("Mrs Patel next door", "Mrs [NAME] next door"),
        ("Dave here, CF23 4QT, the path", "[NAME] here, [POSTCODE], the path"),
    ],
)
def test_redacts_each_kind(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "cars doing 50 down our road",
        "waited 14 hours in A&E",
        "2 buses each way",
        "the 42 bus stopped running after 7",
        "I'm going home, I'm not sure, I'm fine",
        "our house is damp",
        "its alright i suppose",
        "costs me £6 a day, 3 miles down the road",
    ],
)
def test_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


def test_spans_point_into_the_original_text() -> None:
    text = "I'm Dave, 07700 900461, dave@example.org"
    redacted, spans = redact_with_spans(text)
    assert [s.kind for s in spans] == [PiiKind.NAME, PiiKind.PHONE, PiiKind.EMAIL]
    assert all(text[s.start : s.end] == s.text for s in spans)
    assert redacted == "I'm [NAME], [PHONE], [EMAIL]"
    assert find_pii(redacted) == []


words = st.lists(
    st.sampled_from(["the", "bus", "is", "late", "ring", "me", "on", "or", "email", "ta", "x"]),
    max_size=6,
).map(" ".join)
digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@st.composite
def uk_phones(draw: st.DrawFn) -> str:
    """Mobile and landline numbers in the formats residents type."""
    body = draw(st.lists(digits, min_size=9, max_size=9).map("".join))
    style = draw(st.sampled_from(["07{} {}", "07{}{}", "+44 7{} {}", "+44 (0)7{} {}", "01{} {}"]))
    return style.format(body[:3], body[3:])


emails = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[a-z][a-z0-9._]{0,10}[a-z0-9]", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{0,8}[a-z0-9]", fullmatch=True),
    st.sampled_from(["com", "co.uk", "org", "nhs.uk"]),
)


@given(before=words, phone=uk_phones(), middle=words, email=emails, after=words)
def test_output_never_contains_the_phone_or_email(
    before: str, phone: str, middle: str, email: str, after: str
) -> None:
    text = f"{before} {phone} {middle} {email} {after}"
    redacted = redact(text)
    assert phone not in redacted
    assert email not in redacted
    assert "[PHONE]" in redacted
    assert "[EMAIL]" in redacted


@given(st.text(max_size=200))
def test_redact_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
