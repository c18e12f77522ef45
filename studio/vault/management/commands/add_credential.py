"""Provision an upstream credential from a script.

The secret is read from the environment variable named by --secret-env, never from the
command line (which lands in shell history and `ps`), and is never echoed back.
"""

import os
import re

from django.core.management.base import BaseCommand, CommandError

from studio.accounts.management.teams import find_team
from studio.errors import StudioError
from studio.vault import credentials
from studio.vault.models import ProviderCredential

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
# Only names that look like conventional variables are repeated in messages: if someone
# put the secret itself after --secret-env, it must not be printed back.
_SAFE_TO_ECHO = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")


class Command(BaseCommand):
    help = (
        "Add a provider credential for a team (--team) or every team (--shared); the secret "
        "comes from the environment variable named by --secret-env."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # No abbreviations: `--secret VALUE` must not pass as `--secret-env VALUE`.
        kwargs.setdefault("allow_abbrev", False)
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        report = parser.error

        def error(message: str):
            # argparse repeats unknown arguments; one of them could be a pasted secret.
            if "unrecognized arguments" in message:
                message = (
                    "unrecognized arguments (the secret is never given on the command line: "
                    "export it and pass the variable's name with --secret-env)"
                )
            report(message)

        parser.error = error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser):
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--team", help="Team name or UUID")
        owner.add_argument(
            "--shared", action="store_true", help="Share with every team (operator-wide)"
        )
        parser.add_argument(
            "--provider",
            required=True,
            help="One of: " + ", ".join(code for code, _ in ProviderCredential.PROVIDERS),
        )
        parser.add_argument("--base-url", required=True, help="The upstream's base URL")
        parser.add_argument(
            "--secret-env",
            required=True,
            metavar="VAR",
            help="Name of the environment variable holding the secret",
        )
        parser.add_argument("--label", default="", help="A name people recognise it by")
        parser.add_argument("--submits-per-minute", type=int, default=60)
        parser.add_argument("--polls-per-minute", type=int, default=600)
        parser.add_argument("--max-concurrent", type=int, default=20)
        parser.add_argument(
            "--disabled", action="store_true", help="Add it switched off (enable it later)"
        )

    def handle(self, *args, **options):
        team = None if options["shared"] else find_team(options["team"])
        provider = options["provider"].strip().lower()
        if provider not in credentials.PROVIDERS:
            raise CommandError(
                f"Unknown provider {provider!r}; use one of {', '.join(credentials.PROVIDERS)}"
            )
        var = options["secret_env"]
        if not _ENV_NAME.match(var):
            raise CommandError(
                "--secret-env takes the NAME of an environment variable (e.g. FAL_KEY), "
                "not the secret itself"
            )
        named = var if _SAFE_TO_ECHO.match(var) else "named by --secret-env"
        secret = os.environ.get(var, "")
        if not secret.strip():
            raise CommandError(f"The environment variable {named} is not set or is empty")
        try:
            credential = credentials.create_credential(
                team,
                provider,
                options["label"],
                options["base_url"],
                secret,
                submits_per_minute=options["submits_per_minute"],
                polls_per_minute=options["polls_per_minute"],
                max_concurrent_jobs=options["max_concurrent"],
                enabled=not options["disabled"],
            )
        except StudioError as exc:
            raise CommandError(exc.message) from None
        owner = team.name if team else "every team (shared)"
        self.stdout.write(
            f"Added {credential.get_provider_display()} credential “{credential.label}” "
            f"(…{credential.secret_last4}) for {owner}: {credential.uuid}"
        )
