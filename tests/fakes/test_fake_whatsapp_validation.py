"""Send bodies against Meta's documented shapes and limits, directly and over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fakes.helpers import RESIDENT, buttons, error_of, message, post, template, text
from tests.fakes.whatsapp import (
    FakeGraph,
    Rejection,
    validate_message,
)


def listing(*section_sizes: int, row_title: str = "Getting a GP appointment") -> dict[str, Any]:
    sections = [
        {"title": f"Topic {s}", "rows": [{"id": f"r{s}.{r}", "title": row_title} for r in range(n)]}
        for s, n in enumerate(section_sizes)
    ]
    action = {"button": "Choose a topic", "sections": sections}
    body = {"text": "What matters most?"}
    return message("interactive", {"type": "list", "body": body, "action": action})


def with_action(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body["interactive"]["action"].update(changes)
    return body


def with_row(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body["interactive"]["action"]["sections"][-1]["rows"][-1].update(changes)
    return body


def with_reply(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body["interactive"]["action"]["buttons"][-1]["reply"].update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "code", "mentions"),
    [
        (buttons("Good", "Fine", "Poor", "Awful"), 131009, "between 1 and 3"),
        (buttons("Good", "A title of twenty-one"), 131009, "at most 20"),
        (buttons("Good", "Good"), 131009, "unique"),
        (buttons("Good", body=""), 131009, "must not be empty"),
        (buttons("Good", body="x" * 1025), 131009, "at most 1024"),
        (listing(6, 5), 131009, "between 1 and 10"),
        (listing(2, row_title="A row title of 25 letters"), 131009, "at most 24"),
        (listing(0), 131009, "between 1 and 10"),
        (listing(*[1] * 11), 131009, "sections has 11 entries"),
        (with_row(listing(1), description="d" * 73), 131009, "at most 72"),
        (with_row(listing(1), id="i" * 201), 131009, "at most 200"),
        (with_row(listing(2), id="r0.0"), 131009, "unique"),
        (with_action(listing(1), button="Choose one of these topics"), 131009, "at most 20"),
        (with_action(buttons("Good"), buttons=[{"type": "url"}]), 100, "must be 'reply'"),
        (with_reply(buttons("Good"), id="i" * 257), 131009, "at most 256"),
        (text(""), 131009, "must not be empty"),
        (text("x" * 4097), 131009, "at most 4096"),
        ({**text(), "type": "carrier_pigeon"}, 100, "Param type must be one of"),
        ({**text(), "messaging_product": "sms"}, 100, "messaging_product"),
        (message("text", {}) | {"text": None}, 100, "text is required"),
        (message("template", {"name": "checkin_reminder"}), 100, "template.language is required"),
    ],
)
def test_bodies_outside_the_documented_limits_are_rejected(
    body: dict[str, Any], code: int, mentions: str
) -> None:
    with pytest.raises(Rejection) as rejected:
        validate_message(body)

    assert (rejected.value.code, rejected.value.http_status) == (code, 400)
    assert mentions in rejected.value.details


@pytest.mark.parametrize(
    "body", [buttons("Good", "Fine", "Poor"), listing(4, 6), template(), text("x" * 4096)]
)
def test_bodies_at_the_documented_limits_pass(body: dict[str, Any]) -> None:
    assert validate_message(body) == RESIDENT


async def test_limit_errors_come_back_as_graph_errors(
    graph: FakeGraph, http: httpx.AsyncClient
) -> None:
    graph.customer_wrote(RESIDENT)

    too_many_buttons = await post(http, buttons("Good", "Fine", "Poor", "Awful"))
    too_many_rows = await post(http, listing(6, 5))
    fine = [await post(http, buttons("Good", "Poor")), await post(http, listing(3))]

    for response in (too_many_buttons, too_many_rows):
        assert response.status_code == 400
        error = error_of(response)
        assert (error["code"], error["type"]) == (131009, "OAuthException")
        assert error["message"] == "(#131009) Parameter value is not valid"
    assert error_of(too_many_buttons)["error_data"]["details"] == (
        "interactive.action.buttons has 4 entries; between 1 and 3."
    )
    assert (
        "rows (all sections together) has 11 entries; between 1 and 10."
        in (error_of(too_many_rows)["error_data"]["details"])
    )
    assert [response.status_code for response in fine] == [200, 200]
    assert len(graph.sent) == 2
