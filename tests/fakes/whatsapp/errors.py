"""Graph API error codes, and the error answer a refused request gets."""

from __future__ import annotations

from typing import Any, NamedTuple

Json = dict[str, Any]


class ErrorCode(NamedTuple):
    title: str
    details: str
    http_status: int


ERRORS: dict[int, ErrorCode] = {
    100: ErrorCode(
        "Invalid parameter",
        "The request included one or more unsupported or misspelled parameters.",
        400,
    ),
    190: ErrorCode(
        "Access token has expired", "Error validating access token: Session has expired.", 401
    ),
    130429: ErrorCode("Rate limit hit", "Cloud API message throughput has been reached.", 400),
    131000: ErrorCode(
        "Something went wrong", "Message failed to send due to an unknown error.", 500
    ),
    131008: ErrorCode(
        "Required parameter is missing", "The request is missing a required parameter.", 400
    ),
    131009: ErrorCode(
        "Parameter value is not valid", "One or more parameter values are invalid.", 400
    ),
    131016: ErrorCode("Service unavailable", "A service is temporarily unavailable.", 500),
    131026: ErrorCode("Message Undeliverable", "Unable to deliver message.", 400),
    131047: ErrorCode(
        "Re-engagement message",
        "More than 24 hours have passed since the recipient last replied to the sender number.",
        400,
    ),
    131051: ErrorCode("Unsupported message type", "Unsupported message type.", 400),
    131056: ErrorCode(
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone "
        "number in a short period of time.",
        400,
    ),
    132000: ErrorCode(
        "Number of parameters does not match the expected number of params",
        "The number of variable parameter values included in the request did not match the "
        "number of variable parameters defined in the template.",
        400,
    ),
    132001: ErrorCode(
        "Template name does not exist in the translation",
        "The template does not exist in the specified language or the template has not "
        "been approved.",
        404,
    ),
}


class Rejection(Exception):
    """A Graph API error answer; raised while handling a send, or queued by ``fail_next``."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        http_status: int | None = None,
        error_type: str = "OAuthException",
    ) -> None:
        known = ERRORS.get(code)
        if known is None and http_status is None:
            raise ValueError(f"error {code} is not in ERRORS: pass http_status")
        self.code = code
        self.title = known.title if known else "Error"
        self.details = details or (known.details if known else self.title)
        self.http_status = http_status or (known.http_status if known else 400)
        self.error_type = error_type
        super().__init__(f"(#{code}) {self.title}: {self.details}")

    def body(self, fbtrace_id: str) -> Json:
        error: Json = {"message": f"(#{self.code}) {self.title}", "type": self.error_type}
        if self.code == 190 or self.error_type != "OAuthException":
            # Graph's own errors (a bad token, an unknown node): plain message, no error_data.
            error["message"] = self.details
        else:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        return {"error": {**error, "code": self.code, "fbtrace_id": fbtrace_id}}
