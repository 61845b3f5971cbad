"""Reading an area: postcode districts and neighbourhoods kept, addresses refused."""

from __future__ import annotations

import pytest

from flows import AnswerRecorded, AreaRecorded, ConversationEnded, Flow
from flows.area import LOOKS_LIKE_ADDRESS, NOT_AN_AREA, read_area
from tests.flows.talk import at_step


@pytest.mark.parametrize(
    ("typed", "area", "trimmed"),
    [
        ("ls9", "LS9", False),
        ("LS9", "LS9", False),
        ("M14", "M14", False),
        ("sw1a", "SW1A", False),
        ("B5", "B5", False),
        (" ec1v. ", "EC1V", False),
        ("LS9 7", "LS9", False),
        ("LS9 7AB", "LS9", True),
        ("ls97ab", "LS9", True),
        ("SW1A 1AA", "SW1A", True),
        ("m14 5ta", "M14", True),
        ("14 Elm Road, LS9 7AB", "LS9", True),
        ("I live in B5 4TR", "B5", True),
        ("harehills", "Harehills", False),
        ("CHAPEL ALLERTON", "Chapel Allerton", False),
        ("st john's wood", "St John's Wood", False),
        ("St John’s Wood", "St John's Wood", False),
        ("newcastle upon tyne", "Newcastle upon Tyne", False),
        ("weston-super-mare", "Weston-super-Mare", False),
        ("Harehills, Leeds", "Harehills, Leeds", False),
        ("Ty", "Ty", False),
    ],
)
def test_areas_that_are_kept(typed: str, area: str, trimmed: bool) -> None:
    answer = read_area(typed)
    assert answer.area == area
    assert answer.trimmed_postcode is trimmed
    assert answer.problem is None


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("14 Elm Road", LOOKS_LIKE_ADDRESS),
        ("Flat 3, Oak Court", LOOKS_LIKE_ADDRESS),
        ("22b Baker Street", LOOKS_LIKE_ADDRESS),
        ("12345", NOT_AN_AREA),
        ("x", NOT_AN_AREA),
        ("a" * 41, NOT_AN_AREA),
        ("Leeds!!! :)", NOT_AN_AREA),
        ("user@example.com", NOT_AN_AREA),
    ],
)
def test_areas_that_are_refused(typed: str, problem: str) -> None:
    answer = read_area(typed)
    assert answer.area is None
    assert answer.problem == problem


def test_a_full_postcode_keeps_only_the_district_and_says_so(flows: dict[str, Flow]) -> None:
    talk = at_step(flows, "area")
    outcome = talk.say("LS9 7AB")
    assert outcome.effects == (
        AnswerRecorded("listening", "area"),
        AreaRecorded("LS9"),
        ConversationEnded("completed"),
    )
    assert "LS9" in talk.texts[0]
    assert "first part of your postcode" in talk.texts[0]
    assert "7AB" not in " ".join(talk.texts)


def test_a_street_address_is_refused_kindly_and_asked_again(flows: dict[str, Flow]) -> None:
    talk = at_step(flows, "area")
    assert talk.say("14 Elm Road").effects == ()
    assert talk.texts[0] == LOOKS_LIKE_ADDRESS
    assert talk.asked.startswith("Which area do you live in?")
    assert talk.state.step == "area"
    assert talk.say("Burmantofts").effects[1] == AreaRecorded("Burmantofts")


@pytest.mark.parametrize(
    "typed", ["skip", "no", "No thanks", "rather not say", "1", "not telling", "Don't know"]
)
def test_the_area_can_be_skipped(flows: dict[str, Flow], typed: str) -> None:
    talk = at_step(flows, "area")
    assert talk.say(typed).effects == (ConversationEnded("completed"),)
