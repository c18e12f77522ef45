"""The team's recent products index ends with the id, the ordering's tie-breaker."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_product_team_category")]
    operations = [
        migrations.RemoveIndex(model_name="product", name="product_team_recent"),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["team", "-created_at", "-id"], name="product_team_recent"),
        ),
    ]
