"""Reading the message filter from a query string (pages, exports and the API share it)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Query

from models.dashboard import MessageFilter
from web.context import WebContext, web_context

Consent = Literal["", "yes", "no"]


def _clean(value: str | None) -> str | None:
    """Blank means "any"; control characters are refused (PostgreSQL cannot store NUL)."""
    if value is None or not value.strip():
        return None
    if any(ord(ch) < 32 for ch in value):
        raise HTTPException(status_code=422, detail="Filters cannot contain control characters.")
    return value.strip()


def _day(value: str | None, name: str) -> date | None:
    value = _clean(value)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=f"{name} must be a date (YYYY-MM-DD).") from exc


def _label(ctx: WebContext, kind: Literal["theme", "signal"], value: str | None) -> str | None:
    value = _clean(value)
    if value is not None and value not in ctx.codebook.ids(kind):
        raise HTTPException(status_code=422, detail=f"{value!r} is not a {kind} in the codebook.")
    return value


def message_filter(
    ctx: Annotated[WebContext, Depends(web_context)],
    theme: Annotated[str | None, Query(max_length=64, description="Theme id")] = None,
    signal: Annotated[str | None, Query(max_length=64, description="Signal id")] = None,
    safeguarding: Annotated[bool, Query(description="Only messages with a risk label")] = False,
    area: Annotated[str | None, Query(max_length=64)] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    since: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")] = None,
    until: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")] = None,
    consent: Annotated[Consent, Query(description="Hear-back consent standing")] = "",
    q: Annotated[str | None, Query(max_length=200, description="Words in the message")] = None,
) -> MessageFilter:
    """The filter named by the query string; 422 for an unknown theme or a malformed date."""
    return MessageFilter(
        theme=_label(ctx, "theme", theme),
        signal=_label(ctx, "signal", signal),
        safeguarding=safeguarding,
        area=_clean(area),
        channel=_clean(channel),
        since=_day(since, "since"),
        until=_day(until, "until"),
        consent=None if consent == "" else consent == "yes",
        text=_clean(q),
    )


Filter = Annotated[MessageFilter, Depends(message_filter)]


def query_string(found: MessageFilter) -> dict[str, str]:
    """The filter as query parameters (for links to the next page and to exports)."""
    params = {
        "theme": found.theme or "",
        "signal": found.signal or "",
        "safeguarding": "true" if found.safeguarding else "",
        "area": found.area or "",
        "channel": found.channel or "",
        "since": found.since.isoformat() if found.since else "",
        "until": found.until.isoformat() if found.until else "",
        "consent": "" if found.consent is None else ("yes" if found.consent else "no"),
        "q": found.text or "",
    }
    return {key: value for key, value in params.items() if value}
