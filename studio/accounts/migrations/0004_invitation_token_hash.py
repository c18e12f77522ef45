"""Invitation tokens are stored as their SHA-256: existing links keep working (the hash of
the token they carry is what is looked up); a database dump yields no working link."""

import hashlib

from django.db import migrations, models


def hash_tokens(apps, schema_editor):
    Invitation = apps.get_model("accounts", "Invitation")
    for invitation in Invitation.objects.only("pk", "token").iterator():
        digest = hashlib.sha256(invitation.token.encode("utf-8", "replace")).hexdigest()
        Invitation.objects.filter(pk=invitation.pk).update(token_hash=digest)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_ledger_recent_index_with_id")]

    operations = [
        migrations.AddField(
            model_name="invitation",
            name="token_hash",
            field=models.CharField(max_length=64, null=True, editable=False),
        ),
        migrations.RunPython(hash_tokens, migrations.RunPython.noop),
        migrations.RemoveField(model_name="invitation", name="token"),
        migrations.AlterField(
            model_name="invitation",
            name="token_hash",
            field=models.CharField(max_length=64, unique=True, editable=False),
        ),
    ]
