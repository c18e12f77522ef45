"""Serve Studio's MCP tools over stdio, for clients that launch a process (Claude Desktop,
Cursor): `manage.py mcp_stdio --key-env STUDIO_API_KEY`.

The key is read from the named environment variable (never from the command line, where
`ps` would show it), checked once at start (a wrong key fails fast, on stderr) and again on
every call, with the scopes, role and rate limits of the REST API.
"""

from __future__ import annotations

import asyncio
import os

from django.core.management.base import BaseCommand, CommandError

from studio.errors import StudioError


class Command(BaseCommand):
    help = "Serve Studio's MCP server over stdin/stdout with the API key in an env variable."

    def add_arguments(self, parser):
        parser.add_argument(
            "--key-env",
            default="STUDIO_API_KEY",
            help="The environment variable holding the API key (default STUDIO_API_KEY)",
        )

    def handle(self, *args, key_env: str, **options):
        from studio.mcp.server import STDIO_KEY, build_server
        from studio.vault import services as keys

        raw = os.environ.get(key_env, "").strip()
        if not raw:
            raise CommandError(f"Set {key_env} to a Studio API key")
        try:
            keys.authenticate(raw)
        except StudioError as exc:
            raise CommandError(f"{key_env}: {exc.message}") from None
        STDIO_KEY.set(raw)
        asyncio.run(self.serve(build_server()))

    async def serve(self, server) -> None:
        from mcp.server.stdio import stdio_server

        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
