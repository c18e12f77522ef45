# The API's rate counters move here from the vault (studio/vault 0003 drops the old table).
# Counters are ephemeral (one fixed window of a minute): nothing is copied over.

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("subject", models.CharField(max_length=200, unique=True)),
                ("window", models.BigIntegerField(help_text="Minutes since the epoch.")),
                ("hits", models.PositiveIntegerField(default=0)),
            ],
            options={
                "verbose_name": "rate-limit counter",
            },
        ),
    ]
