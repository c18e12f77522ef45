# The API's rate counters now live in the `studio` core app (studio/migrations/0001).
# They are ephemeral (one fixed window of a minute), so the old table is simply dropped.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("vault", "0002_provider_credentials"),
        ("studio", "0001_rate_counters"),
    ]

    operations = [
        migrations.DeleteModel(name="RateCounter"),
    ]
