"""The ASGI app: web chat, staff pages, public board, health; channels start in the lifespan."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from itsdangerous import URLSafeSerializer
from starlette.middleware.sessions import SessionMiddleware

from bot.channels import telegram, webchat, whatsapp
from bot.channels.lifecycle import Channels
from bot.dashboard import dashboard_context
from bot.http import BodyLimitMiddleware
from bot.runtime import Runtime
from bot.settings import Settings, SettingsError
from themes.types import Tagger
from web import api, dashboard, public, staff, updates_admin
from web.auth import SignInRequired
from web.counts import CountsKeeper
from web.errors import install_error_pages

log = logging.getLogger("listening_post.app")
STAFF_SESSION_SECONDS = 8 * 60 * 60
DEV_KEY_FILE = Path("var/dev-secret-key")


def secret_key(settings: Settings) -> str:
    """The signing key; in development only, a key kept in var/ so cookies survive restarts."""
    if settings.server.secret_key is not None:
        return settings.server.secret_key.get_secret_value()
    if not settings.server.development:
        raise SettingsError(
            "config error: server.secret_key: set LP_SERVER__SECRET_KEY "
            "(or LP_SERVER__DEVELOPMENT=true on a development machine)"
        )
    if not DEV_KEY_FILE.exists():
        DEV_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        DEV_KEY_FILE.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        DEV_KEY_FILE.chmod(0o600)
    return DEV_KEY_FILE.read_text(encoding="utf-8").strip()


def create_app(settings: Settings, tagger: Tagger | None = None) -> FastAPI:
    """Build the app; the database, flows and tagger are opened when the lifespan starts."""
    key = secret_key(settings)
    app = FastAPI(title="Listening Post", version="0.1.0", lifespan=_lifespan(settings, tagger))
    app.state.chat_signer = URLSafeSerializer(key, salt="web-chat")
    _add_middleware(app, settings, key)
    _add_routers(app)
    _add_app_routes(app)
    return app


def _lifespan(
    settings: Settings, tagger: Tagger | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start the runtime and channels with the app; stop them, in reverse, when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.start(settings, tagger)
        app.state.runtime = runtime
        app.state.web = dashboard_context(settings, runtime)
        counts = CountsKeeper(app.state.web)
        channels = Channels(runtime)
        app.state.telegram = channels.telegram
        app.state.whatsapp = channels.whatsapp
        await channels.start()
        log.info("started", extra={"database": runtime.engine.dialect.name})
        try:
            yield
        finally:
            await channels.stop()
            await counts.stop()
            await runtime.close()
            log.info("stopped")

    return lifespan


def _add_middleware(app: FastAPI, settings: Settings, key: str) -> None:
    https = settings.server.public_url.startswith("https://")
    app.add_middleware(
        SessionMiddleware,
        secret_key=key,
        session_cookie="lp_staff",
        max_age=STAFF_SESSION_SECONDS,
        same_site="strict",
        https_only=https,
    )
    app.add_middleware(BodyLimitMiddleware, limit=settings.server.max_body_bytes)


def _add_routers(app: FastAPI) -> None:
    """Static files and routers, in the order requests are matched against them."""
    static = Path(webchat.__file__).parent / "static"
    app.mount("/chat/static", StaticFiles(directory=static), name="chat_static")
    app.include_router(webchat.router())
    app.include_router(telegram.router())
    app.include_router(whatsapp.router())
    app.include_router(staff.router())
    app.include_router(dashboard.router())
    app.include_router(api.router())
    app.mount("/staff/static", StaticFiles(directory=dashboard.STATIC), name="staff_static")
    install_error_pages(app)
    app.include_router(public.router())
    app.include_router(updates_admin.router())


def _add_app_routes(app: FastAPI) -> None:
    """The sign-in redirect, the health check and the root redirect."""

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, exc: SignInRequired) -> RedirectResponse:
        return RedirectResponse("/staff/login", status_code=303)

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> JSONResponse:
        """200 once the database answers."""
        runtime: Runtime = request.app.state.runtime
        try:
            await runtime.healthy()
        except Exception:
            log.exception("health_check_failed")
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/chat", status_code=307)
