"""Errors on staff pages as a readable page (the API keeps FastAPI's JSON errors)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from web.context import TEMPLATES

TITLES = {
    403: "Not allowed",
    404: "Not found",
    409: "Not possible",
    422: "That request was not understood",
}


def _is_page(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/staff") and "application/json" not in accept


def _page(request: Request, status: int, detail: str) -> Response:
    context = {
        "status": status,
        "title": TITLES.get(status, "Something went wrong"),
        "detail": detail,
    }
    return TEMPLATES.TemplateResponse(request, "error.html", context, status_code=status)


def install_error_pages(app: FastAPI) -> None:
    """Staff pages answer errors with a page saying what happened and where to go."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if not _is_page(request) or exc.status_code < 400:
            return await http_exception_handler(request, exc)
        return _page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if not _is_page(request):
            return await request_validation_exception_handler(request, exc)
        fields = ", ".join(str(e["loc"][-1]) for e in exc.errors() if e.get("loc"))
        return _page(request, 422, f"Please check: {fields or 'the form'}.")
