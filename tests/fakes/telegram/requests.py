"""Reading a Bot API request's parameters, and answering with Telegram's errors."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from tests.fakes.telegram.records import JSON


class ApiError(Exception):
    """A refusal, answered as ``{"ok": false, "error_code": status, ...}`` with that status."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return JSONResponse(body, status_code=self.status)


def bad(description: str) -> ApiError:
    """A 400 Bad Request, worded as Telegram words it."""
    return ApiError(400, f"Bad Request: {description}")


def too_many(retry_after: int) -> ApiError:
    """A 429 telling the bot how many seconds to wait."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


class Params:
    """One request's parameters, each read as the type its method expects."""

    def __init__(self, values: JSON) -> None:
        self.values = values

    @classmethod
    async def read(cls, request: Request) -> Params:
        """The query string merged with a JSON, urlencoded or multipart body."""
        values: JSON = dict(request.query_params)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                raise bad("can't parse JSON encoded request") from None
            if not isinstance(body, dict):
                raise bad("JSON object expected as request body")
            values.update(body)
        elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-")):
            async with request.form() as form:
                for key, value in form.multi_items():
                    values[key] = value if isinstance(value, str) else f"<file {value.filename}>"
        return cls(values)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value is None or isinstance(value, str) else json.dumps(value)

    def integer(self, name: str) -> int | None:
        number = self.number(name)
        if number is not None and not number.is_integer():
            raise bad(f'field "{name}" must be a valid Number')
        return None if number is None else int(number)

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad(f'field "{name}" must be a valid Number') from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        return value is True or str(value).lower() in ("true", "1")

    def structure(self, name: str, *, unparsable: str) -> Any:
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value) if value else None
        except ValueError:
            raise bad(unparsable) from None

    def chat_id(self) -> int:
        value = self.text("chat_id")
        if not value:
            raise bad("chat_id is empty")
        try:
            return int(value)
        except ValueError:
            raise bad("chat not found") from None  # an @username we do not know
