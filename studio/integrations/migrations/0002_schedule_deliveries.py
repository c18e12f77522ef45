"""The one-minute schedule that attempts due webhook and Meta deliveries."""

from django.db import migrations

NAME = "Deliveries: retry due webhooks and Meta conversions"
FUNC = "studio.integrations.tasks.run_deliveries"


def seed(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME, defaults={"func": FUNC, "schedule_type": "I", "minutes": 1}
    )


def unseed(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
