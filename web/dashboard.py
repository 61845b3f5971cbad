"""The staff dashboard's routes, gathered for the app to mount."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from web import admin_pages, insight_pages, review_pages

STATIC = Path(__file__).parent / "static"


def router() -> APIRouter:
    """Inbox, transcripts, corrections, alerts, overview, equity, export, admin, tokens."""
    routes = APIRouter(include_in_schema=False)
    routes.include_router(review_pages.router())
    routes.include_router(insight_pages.router())
    routes.include_router(admin_pages.router())
    return routes
