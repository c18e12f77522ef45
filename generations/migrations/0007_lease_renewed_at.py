from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0006_seed_upstream_models"),
    ]

    operations = [
        migrations.AddField(
            model_name="lease",
            name="renewed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
