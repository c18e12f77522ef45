"""Schedule the purge of rate counters of past windows (one row per subject otherwise stays)."""

from django.db import migrations

FUNC = "studio.tasks.purge_stale_rate_counters"


def schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="Purge rate-limit counters of past minutes",
        defaults={"func": FUNC, "schedule_type": "H"},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("studio", "0001_rate_counters"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(schedule, unschedule)]
