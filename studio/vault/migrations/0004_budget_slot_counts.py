# Budgets count the slots they grant, so a late call pushes the next slots back by exactly
# what it needs (generations/budgets.py `settle`), however many slots were granted since.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("vault", "0003_rate_counters_moved_to_studio"),
    ]

    operations = [
        migrations.AddField(
            model_name="providercredential",
            name="submit_slots",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="providercredential",
            name="poll_slots",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
    ]
