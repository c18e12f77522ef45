from django.core.management.base import BaseCommand, CommandError

from studio.accounts import storage_quota

MB = 1024 * 1024


class Command(BaseCommand):
    help = (
        "Compare every team's counted storage with the bytes its assets and catalog files "
        "hold; report the drift (exit 1), or set the counters right with --fix."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--fix", action="store_true", help="Write the recomputed storage_used_bytes."
        )

    def handle(self, **options):
        fix = options["fix"]
        drifts = storage_quota.reconcile(fix=fix)
        for d in drifts:
            self.stdout.write(
                f"{d.team.name} ({d.team.uuid}): counted {d.counted:,} bytes, files hold "
                f"{d.held:,} ({(d.counted - d.held) / MB:+.2f} MB)" + (" — fixed" if fix else "")
            )
        if not drifts:
            self.stdout.write("Every team's storage matches its files.")
        elif fix:
            self.stdout.write(f"Set {len(drifts)} team(s) right.")
        else:
            raise CommandError(f"{len(drifts)} team(s) drift; run again with --fix to set them")
