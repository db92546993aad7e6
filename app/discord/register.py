"""Register Hunch's slash commands with Discord (`python -m app register-commands [--guild ID] [--dry-run]`).

One bulk overwrite replaces the whole command list, so running it again is safe and removes commands that
no longer exist. `--guild` registers in a single server (handy while developing); without it the commands
are global.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from app.discord.api import DiscordApi
from app.discord.rest import API_BASE, DiscordRest
from app.discord.rest_errors import DiscordApiError

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2


async def register_commands(
    commands: list[dict[str, Any]],
    *,
    application_id: str,
    bot_token: str | None,
    guild_id: str | None,
    dry_run: bool,
    out: TextIO,
    rest: DiscordRest | None = None,
    err: TextIO | None = None,
    base_url: str = API_BASE,
) -> int:
    """Print (dry run) or PUT the command definitions (`handlers.definitions`); returns the exit code.

    Problems are written to `err`, which defaults to `out`.
    """
    err = err if err is not None else out

    if dry_run:
        out.write(json.dumps(commands, indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK

    application_id = (application_id or "").strip()
    if not application_id.isascii() or not application_id.isdigit():
        err.write("DISCORD_APPLICATION_ID is missing or not a numeric id: set it to the app's Application ID\n")
        return EXIT_USAGE
    guild_id = guild_id.strip() if guild_id else None
    if guild_id is not None and (not guild_id.isascii() or not guild_id.isdigit()):
        err.write("--guild must be a numeric server id\n")
        return EXIT_USAGE
    if not bot_token or not bot_token.strip():
        err.write("DISCORD_BOT_TOKEN is not set: registering commands needs the bot token (or use --dry-run)\n")
        return EXIT_USAGE

    owns_rest = rest is None
    if rest is None:
        try:
            rest = DiscordRest(bot_token, base_url=base_url)
        except ValueError as exc:
            err.write(f"{exc}\n")
            return EXIT_USAGE
    try:
        registered = await DiscordApi(rest).bulk_overwrite_commands(application_id, commands, guild_id=guild_id)
    except DiscordApiError as exc:
        err.write(f"Could not register commands: {exc.message}\n")
        return EXIT_API_ERROR
    finally:
        if owns_rest:
            await rest.aclose()

    where = f"in guild {guild_id}" if guild_id else "globally"
    out.write(f"Registered {len(registered)} commands {where}\n")
    names = ", ".join("/" + str(command.get("name", "?")) for command in registered)
    if names:
        out.write(f"  {names}\n")
    return EXIT_OK
