from django.core.management.base import BaseCommand, CommandError

from studio.accounts import credits
from studio.accounts.management.teams import find_team
from studio.accounts.models import Bucket, LedgerKind
from studio.errors import StudioError


class Command(BaseCommand):
    help = "Grant credits to a team (negative AMOUNT records an adjustment)."

    def add_arguments(self, parser):
        parser.add_argument("team", help="Team name or UUID")
        parser.add_argument("amount", type=int)
        parser.add_argument("--bucket", choices=Bucket.values, default=Bucket.PACK)
        parser.add_argument("--note", default="")

    def handle(self, team, amount, bucket, note, **options):
        team_obj = find_team(team)
        kind = LedgerKind.GRANT if amount > 0 else LedgerKind.ADJUSTMENT
        try:
            entry = credits.grant(
                team_obj, amount, bucket=bucket, kind=kind, note=note or "Granted by operator"
            )
        except StudioError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"{team_obj.name}: {entry.amount:+d} {bucket}; balance {entry.balance_after}"
        )
