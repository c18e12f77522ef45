"""Connect a team's Meta pixel from a script: the token is read from an environment variable
(never from the command line, where `ps` and shell history would show it)."""

import os

from django.core.management.base import BaseCommand, CommandError

from studio.accounts.management.teams import find_team
from studio.errors import StudioError
from studio.integrations import meta


class Command(BaseCommand):
    help = "Connect (or update) a team's Meta pixel for POST /api/v1/conversions/meta."

    def add_arguments(self, parser):
        parser.add_argument("team", help="Team name or UUID")
        parser.add_argument("--pixel-id", required=True)
        parser.add_argument(
            "--token-env",
            required=True,
            metavar="VAR",
            help="Name of the environment variable holding the Conversions API access token",
        )
        parser.add_argument("--test-event-code", default="")

    def handle(self, team, pixel_id, token_env, test_event_code, **options):
        token = os.environ.get(token_env, "")
        if not token:
            raise CommandError(f"${token_env} is empty or not set")
        team_obj = find_team(team)
        try:
            pixel = meta.connect_pixel(
                team_obj, pixel_id=pixel_id, access_token=token, test_event_code=test_event_code
            )
        except StudioError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"{team_obj.name}: pixel {pixel.pixel_id} connected (token …{pixel.token_last4})"
        )
