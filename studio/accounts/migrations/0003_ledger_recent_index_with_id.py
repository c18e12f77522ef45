"""The team's ledger index ends with the id, the ordering's tie-breaker."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_seed_plans_and_schedules")]
    operations = [
        migrations.RemoveIndex(model_name="ledgerentry", name="ledger_team_recent"),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(fields=["team", "-created_at", "-id"], name="ledger_team_recent"),
        ),
    ]
