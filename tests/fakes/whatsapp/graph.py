"""FakeGraph: the Cloud API's send endpoint on loopback HTTP, and what it records."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes import LoopbackServer
from tests.fakes.whatsapp.account import ACCESS_TOKEN, GRAPH_VERSION, PHONE_NUMBER_ID, digits
from tests.fakes.whatsapp.errors import Json, Rejection
from tests.fakes.whatsapp.validation import validate_message
from tests.fakes.whatsapp.webhooks import status_update

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Attempt:
    """One POST to /messages, whatever came of it."""

    body: Any  # the parsed JSON, or None if it was not JSON
    received_at: float  # time.monotonic()
    status: int
    error_code: int | None


@dataclass(frozen=True)
class Sent:
    """One accepted message."""

    body: Json
    wamid: str
    wa_id: str
    received_at: float  # time.monotonic()
    at: datetime  # the fake's clock


@dataclass(frozen=True)
class RateViolation:
    start: float  # seconds after the first attempt
    count: int


def rate_violations_in(times: Sequence[float], per_second: float) -> list[RateViolation]:
    """Windows [t, t + 1 s), one opened at each time t, that hold more than ``per_second`` times.

    Any one-second interval holding n times can slide right until it opens at one of them and
    still hold all n, so these windows find every excess. Half-open: two sends exactly 1 s apart
    are never in one window. A burst is reported once per send that opens an over-limit window.
    """
    ordered = sorted(times)
    found = []
    for i, start in enumerate(ordered):
        count = bisect.bisect_left(ordered, start + 1.0, lo=i) - i
        if count > per_second:
            found.append(RateViolation(round(start - ordered[0], 6), count))
    return found


class FakeGraph:
    """The Cloud API's send endpoint, served on 127.0.0.1 while the ``async with`` lasts.

    ``attempts`` records every POST to /messages; ``sent`` only the accepted ones. With
    ``delivery_errors="webhook"`` a send to a closed window or an unreachable number is answered
    200 with a wamid, kept out of ``sent``, and its failed status webhook is appended to
    ``status_webhooks`` for the test to post to the channel.
    """

    def __init__(
        self,
        *,
        phone_number_id: str = PHONE_NUMBER_ID,
        access_token: str = ACCESS_TOKEN,
        version: str = GRAPH_VERSION,
        approved_templates: Iterable[str] = (),
        delivery_errors: Literal["response", "webhook"] = "response",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.phone_number_id = phone_number_id
        self.access_token = access_token
        self.version = version
        self.approved_templates = set(approved_templates)
        self.delivery_errors = delivery_errors
        self.clock = clock or (lambda: datetime.now(UTC))
        self.base_url = ""
        self.attempts: list[Attempt] = []
        self.sent: list[Sent] = []
        self.status_webhooks: list[Json] = []
        self._last_inbound: dict[str, datetime] = {}
        self._unreachable: set[str] = set()
        self._injected: deque[Rejection] = deque()
        self._wamids = itertools.count(1)
        self._arrived = asyncio.Event()
        self.app = Starlette(
            routes=[Route("/{version}/{phone_number_id}/messages", self._post, methods=["POST"])]
        )
        self._serving = LoopbackServer(self.app)

    async def __aenter__(self) -> Self:
        await self._serving.__aenter__()
        self.base_url = f"{self._serving.url}/{self.version}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._serving.__aexit__(exc_type, exc, traceback)

    # What the test declares.

    def customer_wrote(self, wa_id: str, at: datetime | None = None) -> None:
        """Record an inbound message, which opens (or renews) the 24-hour window."""
        wa_id, at = digits(wa_id), at or self.clock()
        self._last_inbound[wa_id] = max(at, self._last_inbound.get(wa_id, at))

    def window_open(self, wa_id: str) -> bool:
        last = self._last_inbound.get(digits(wa_id))
        return last is not None and self.clock() - last <= WINDOW

    def fail_next(
        self,
        code: int,
        *,
        http_status: int | None = None,
        count: int = 1,
        details: str | None = None,
    ) -> None:
        """Answer the next ``count`` sends with this error (after the token and path checks)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        for _ in range(count):
            self._injected.append(Rejection(code, details, http_status=http_status))

    def unreachable(self, wa_id: str) -> None:
        """Every send to this number fails with 131026, as for a number not on WhatsApp."""
        self._unreachable.add(digits(wa_id))

    # What the test reads.

    def messages_to(self, wa_id: str) -> list[Json]:
        """The bodies of the accepted sends to this number, oldest first."""
        return [sent.body for sent in self.sent if sent.wa_id == digits(wa_id)]

    async def wait_for_sent(self, count: int, timeout: float = 5.0) -> list[Sent]:  # noqa: ASYNC109
        """Wait until at least ``count`` messages were accepted; return them all."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.sent) < count:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            tried = [(a.status, a.error_code) for a in self.attempts]
            raise AssertionError(
                f"{len(self.sent)} of {count} sends accepted in {timeout} s; attempts: {tried}"
            ) from None
        return list(self.sent)

    @property
    def send_times(self) -> list[float]:
        """``time.monotonic()`` at every POST to /messages, accepted or not."""
        return [attempt.received_at for attempt in self.attempts]

    def rate_violations(self, per_second: float) -> list[RateViolation]:
        """One-second windows over the limit, counting every attempt (see rate_violations_in)."""
        return rate_violations_in(self.send_times, per_second)

    # The endpoint.

    async def _post(self, request: Request) -> JSONResponse:
        received_at = time.monotonic()
        try:
            body: Any = json.loads(await request.body())
        except ValueError:
            body = None
        try:
            self._authorise(request)
            if not isinstance(body, dict):
                raise Rejection(100, "The request body must be a JSON object.")
            answer = self._send(body, received_at)
        except Rejection as rejection:
            self.attempts.append(Attempt(body, received_at, rejection.http_status, rejection.code))
            trace = f"AFAKE{uuid.uuid4().hex[:16]}"
            return JSONResponse(rejection.body(trace), status_code=rejection.http_status)
        self.attempts.append(Attempt(body, received_at, 200, None))
        return JSONResponse(answer)

    def _authorise(self, request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            raise Rejection(190, "Invalid OAuth access token - Cannot parse access token")
        node = request.path_params["phone_number_id"]
        if node != self.phone_number_id:
            raise Rejection(
                100,
                f"Unsupported post request. Object with ID '{node}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation.",
                error_type="GraphMethodException",
            )

    def _send(self, body: Json, received_at: float) -> Json:
        if self._injected:
            raise self._injected.popleft()
        wa_id = validate_message(body)
        name = body["template"]["name"] if body["type"] == "template" else None
        if name is not None and name not in self.approved_templates:
            language = body["template"]["language"]["code"]
            raise Rejection(132001, f"template name ({name}) does not exist in {language}")
        failure = self._delivery_failure(body["type"], wa_id)
        if failure is not None and self.delivery_errors == "response":
            raise failure
        wamid = f"wamid.FAKE{next(self._wamids)}"
        if failure is not None:
            self.status_webhooks.append(
                status_update(wamid, "failed", wa_id, [failure.code], graph=self)
            )
        else:
            self.sent.append(Sent(body, wamid, wa_id, received_at, self.clock()))
            self._arrived.set()
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": wa_id}],
            "messages": [{"id": wamid}],
        }

    def _delivery_failure(self, kind: str, wa_id: str) -> Rejection | None:
        if wa_id in self._unreachable:
            return Rejection(131026)
        if kind != "template" and not self.window_open(wa_id):
            return Rejection(131047)
        return None
