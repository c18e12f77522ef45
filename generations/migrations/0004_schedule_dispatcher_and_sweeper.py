"""The engine's one-minute schedules: the dispatcher (polls upstreams) and the sweeper."""

from django.db import migrations

SCHEDULES = [
    ("Dispatcher: poll in-flight upstream jobs", "generations.tasks.run_dispatcher"),
    ("Sweeper: re-drive expired steps, fail jobs past their deadline", "generations.tasks.sweep"),
]


def seed(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": "I", "minutes": 1}
        )


def unseed(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(func__in=[func for _, func in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0003_generations_and_assets"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
