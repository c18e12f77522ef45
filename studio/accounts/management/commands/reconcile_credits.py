from django.core.management.base import BaseCommand, CommandError

from studio.accounts import credits


class Command(BaseCommand):
    help = "Check every team's cached balances against its ledger; exit 1 on a mismatch."

    def handle(self, **options):
        problems = credits.reconcile()
        for p in problems:
            self.stderr.write(
                f"{p.team.name} ({p.team.uuid}): cached plan/pack/redemption "
                f"{p.cached.plan}/{p.cached.pack}/{p.cached.redemption}, "
                f"ledger {p.ledger.plan}/{p.ledger.pack}/{p.ledger.redemption}"
            )
        if problems:
            raise CommandError(f"{len(problems)} team(s) do not reconcile")
        self.stdout.write("All team balances match the ledger.")
