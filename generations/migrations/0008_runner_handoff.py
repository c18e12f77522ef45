from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0007_lease_renewed_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="generation",
            name="handoff",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="generation",
            name="runner",
            field=models.CharField(blank=True, max_length=120),
        ),
    ]
