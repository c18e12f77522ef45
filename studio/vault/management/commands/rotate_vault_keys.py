"""Re-encrypt every stored secret under the newest key in STUDIO_VAULT_KEYS: upstream
credentials and the columns other apps register (`crypto.register_sealed_column`).

Run it after putting a new key first in STUDIO_VAULT_KEYS (keeping the old ones after it);
when it reports no failures, the old keys can be removed. Running it again changes nothing.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Model

from studio.vault import crypto
from studio.vault.models import ProviderCredential


class Command(BaseCommand):
    help = "Re-encrypt every provider credential's secret under the newest vault key."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would change; write nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options):
        newest = crypto.current_key_id()
        rotated = current = failed = raced = 0
        columns: list[tuple[type[Model], str]] = [
            (ProviderCredential, "secret_ciphertext"),
            *crypto.sealed_columns(),
        ]
        for model, field in columns:
            rows = (
                model._default_manager.exclude(**{field: ""})
                .order_by("pk")
                .values_list("pk", "uuid", field)
            )
            for pk, row_uuid, token in rows.iterator(chunk_size=500):
                try:
                    new_token = crypto.reencrypt(token, row=row_uuid)
                except crypto.VaultError as exc:
                    failed += 1
                    self.stderr.write(f"{model._meta.verbose_name} {row_uuid}: {exc}")
                    continue
                if new_token is None:
                    current += 1
                    continue
                if dry_run:
                    rotated += 1
                    continue
                # Only if nobody replaced the secret meanwhile (that write used the newest key).
                if model._default_manager.filter(pk=pk, **{field: token}).update(
                    **{field: new_token}
                ):
                    rotated += 1
                else:
                    raced += 1
        verb = "Would re-encrypt" if dry_run else "Re-encrypted"
        summary = f"{verb} {rotated}, already under key {newest}: {current}, failed: {failed}" + (
            f", changed meanwhile: {raced}" if raced else ""
        )
        if failed:
            raise CommandError(
                f"{summary}. Keep every old key in STUDIO_VAULT_KEYS until the failures "
                "are fixed (re-enter those secrets)."
            )
        self.stdout.write(summary)
        if not dry_run:
            self.stdout.write(
                f"Every secret is under key {newest}; older keys can be removed from "
                "STUDIO_VAULT_KEYS."
            )
