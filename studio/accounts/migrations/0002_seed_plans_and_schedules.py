"""Seed rows a fresh database needs: the plans and the plan-reset schedule."""

from django.db import migrations

PLANS = [
    # slug, name, monthly credits, storage bytes, default
    ("free", "Free", 1000, 2 * 1024**3, True),
    ("pro", "Pro", 20000, 50 * 1024**3, False),
    ("business", "Business", 100000, 500 * 1024**3, False),
]


def seed(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    for slug, name, monthly, storage, default in PLANS:
        Plan.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "monthly_credits": monthly,
                "storage_limit_bytes": storage,
                "is_default": default,
            },
        )
    Schedule = apps.get_model("django_q", "Schedule")
    # Hourly, not monthly: each team renews on its own date; the task resets those due.
    Schedule.objects.update_or_create(
        name="Reset plan credits of teams whose period ended",
        defaults={"func": "studio.accounts.tasks.reset_due_plans", "schedule_type": "H"},
    )


def unseed(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(
        func="studio.accounts.tasks.reset_due_plans"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
