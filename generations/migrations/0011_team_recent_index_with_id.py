"""The team's recent generations index ends with the id, the ordering's tie-breaker."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("generations", "0010_asset_pending")]
    operations = [
        migrations.RemoveIndex(model_name="generation", name="gen_team_recent"),
        migrations.AddIndex(
            model_name="generation",
            index=models.Index(fields=["team", "-created_at", "-id"], name="gen_team_recent"),
        ),
    ]
