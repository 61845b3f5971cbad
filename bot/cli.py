"""The `listening-post` command line (also `python -m bot`)."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from bot import logs
from bot.settings import Settings, SettingsError, load_settings
from models.db import upgrade

app = typer.Typer(
    help="Listening Post: listen to residents, tag what they say, feed back.",
    no_args_is_help=True,
    add_completion=False,
)
staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
resident_app = typer.Typer(help="One resident's data: export or erase.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")
app.add_typer(resident_app, name="resident")
dev_app = typer.Typer(help="Development helpers.", no_args_is_help=True)
app.add_typer(dev_app, name="dev")
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML settings file (or LP_CONFIG).")
]


def settings_or_exit(config: Path | None) -> Settings:
    """Load settings; a bad value stops here with one line naming the key."""
    try:
        settings = load_settings(config)
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    logs.configure(settings.logging.level)
    return settings


@app.command()
def serve(config: ConfigOption = None) -> None:
    """Run the web app, the enabled channels, the scheduler and delivery in one process."""
    from bot.app import create_app

    settings = settings_or_exit(config)
    try:
        asgi = create_app(settings)
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    server = uvicorn.Server(
        uvicorn.Config(
            asgi,
            host=settings.server.host,
            port=settings.server.port,
            log_config=None,
            proxy_headers=True,
            lifespan="on",
        )
    )
    server.run()


@app.command()
def migrate(config: ConfigOption = None) -> None:
    """Apply database migrations."""
    settings = settings_or_exit(config)
    upgrade(settings.database.url)
    err.print("Database is up to date.")


@app.command()
def chat(
    config: ConfigOption = None,
    flow: Annotated[str | None, typer.Option(help="Start this flow (e.g. pulse).")] = None,
    as_: Annotated[str | None, typer.Option("--as", help="Resident address to talk as.")] = None,
) -> None:
    """Talk to the bot in the terminal, one message per line (works piped)."""
    from bot.console import chat as run_chat
    from bot.runtime import Runtime

    settings = settings_or_exit(config)
    upgrade(settings.database.url)
    address = as_ or getpass.getuser()

    async def main() -> None:
        runtime = await Runtime.start(settings)
        try:
            if flow is not None and flow not in runtime.flows:
                err.print(f"[red]no flow named {flow!r}; known: {', '.join(runtime.flows)}[/red]")
                raise typer.Exit(2)
            await run_chat(runtime, address, flow)
        finally:
            await runtime.close()

    asyncio.run(main())


@staff_app.command("add")
def staff_add(
    email: str,
    role: Annotated[str, typer.Option(help="staff, manager or admin")] = "staff",
    config: ConfigOption = None,
) -> None:
    """Add a staff user (or reset one); the password comes from a prompt or LP_NEW_PASSWORD."""
    from models.db import Database
    from models.staff import StaffError, add_staff

    settings = settings_or_exit(config)
    password = os.environ.get("LP_NEW_PASSWORD") or getpass.getpass("Password: ")

    async def main() -> None:
        db = Database(settings.database.url)
        try:
            async with db.transaction() as session:
                user = await add_staff(session, email, password, role)
                err.print(f"Staff user {user.email} ({user.role}) is ready.")
        finally:
            await db.dispose()

    try:
        asyncio.run(main())
    except StaffError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc


@resident_app.command("export")
def resident_export(
    channel: Annotated[str, typer.Option(help="telegram, whatsapp, web or console")],
    address: Annotated[str, typer.Option(help="The resident's id on that channel.")],
    config: ConfigOption = None,
) -> None:
    """Print everything held about one resident as JSON; exit 1 when there is no such resident."""
    from bot.residents import export

    data = asyncio.run(export(settings_or_exit(config), channel, address))
    if data is None:
        err.print("No such resident.")
        raise typer.Exit(1)
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@resident_app.command("erase")
def resident_erase(
    channel: Annotated[str, typer.Option(help="telegram, whatsapp, web or console")],
    address: Annotated[str, typer.Option(help="The resident's id on that channel.")],
    config: ConfigOption = None,
) -> None:
    """Erase one resident's personal data; exit 1 when there is no such resident."""
    from bot.residents import erase

    if not asyncio.run(erase(settings_or_exit(config), channel, address)):
        err.print("No such resident.")
        raise typer.Exit(1)
    err.print("Erased.")


def _add_themes() -> None:
    from themes.cli import app as themes_app

    themes_app.command("train")(themes_train)
    app.add_typer(themes_app, name="themes", help="Tag, evaluate, rebuild and retrain the tagger.")


def themes_train(
    eval_file: Annotated[
        Path, typer.Option("--eval", help="The fixed evaluation split (never trained on).")
    ] = Path("tests/data/labelled/eval.jsonl"),
    force: Annotated[bool, typer.Option(help="Activate even if the figures are worse.")] = False,
    config: ConfigOption = None,
) -> None:
    """Retrain on the labelled data plus staff corrections; activate only if not worse."""
    from bot.retrain import retrain, staff_corrections
    from themes.labelled import LabelledDataError
    from themes.training import calibration_messages

    settings = settings_or_exit(config)
    if not eval_file.is_file():
        err.print(f"[red]no evaluation file at {eval_file}[/red]")
        raise typer.Exit(2)
    try:  # the development splits beside the evaluation file, read before any work
        calibration = calibration_messages(eval_file.parent)
    except LabelledDataError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    corrections = asyncio.run(staff_corrections(settings))
    err.print(f"{len(corrections)} staff-corrected messages added to the training data.")
    outcome = retrain(settings, corrections, eval_file, force=force, calibration=calibration)
    before, after = outcome.before.summary(), outcome.after.summary()
    for key in before:
        err.print(f"  {key:32} {before[key]:.3f} -> {after[key]:.3f}")
    verdict = "now active" if outcome.activated else "kept inactive (worse; --force to use it)"
    err.print(f"Pipeline {outcome.version} in {outcome.path}: {verdict}.")


def _add_updates() -> None:
    from bot.updates_cli import app as updates_app

    app.add_typer(updates_app, name="updates", help='"You said, we did" updates.')


@dev_app.command("seed")
def dev_seed(
    messages: Annotated[int, typer.Option(min=2, help="About this many messages.")] = 10_000,
    residents: Annotated[int, typer.Option(min=1, help="Residents.")] = 500,
    weeks: Annotated[int, typer.Option(min=1, help="Spread over the last N weeks.")] = 52,
    config: ConfigOption = None,
) -> None:
    """Fill the database with made-up conversations (realistic theme mix) for trying things."""
    from bot.seed import recount, seed

    settings = settings_or_exit(config)
    upgrade(settings.database.url)
    report = asyncio.run(seed(settings.database.url, residents, messages, weeks))
    asyncio.run(recount(settings.database.url))
    err.print(
        f"Added {report.residents} residents, {report.messages} messages, {report.tags} tags, "
        f"{report.alerts} safeguarding alerts; dashboard counts rebuilt."
    )


def main() -> None:
    _add_themes()
    _add_updates()
    app()
