"""Chat: conversations and messages, token prices on models, chat models priced per 1K tokens.

Rates are credits per 1K tokens (Studio's unit: an image is 40 credits), set from what each
upstream charges; admins edit them. Model params chat reads: `context_tokens` (the window
history is trimmed to), `max_output_tokens` (cap of a request's `max_tokens`), `vision`
(takes `media_urls`), `web_search`, `reasoning_effort` (`deep_think` asks for high effort),
`max_tokens_field` (the name the upstream gives the answer budget, e.g. max_completion_tokens).
"""

import uuid
from decimal import Decimal

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

CHAT_MODELS = {
    # identifier: (input rate, output rate, params)
    "studio-local/chat": (
        "0.1",
        "0.2",
        {"context_tokens": 2048, "max_output_tokens": 512, "vision": False},
    ),
    "openai/gpt-4o-mini": (
        "1",
        "4",
        {"context_tokens": 128000, "max_output_tokens": 16384, "vision": True},
    ),
}
NEW_MODELS = [
    {
        "identifier": "openai/gpt-4o-mini-search",
        "name": "GPT-4o mini with web search (OpenAI)",
        "provider": "openai",
        "upstream_model": "gpt-4o-mini-search-preview",
        "rates": ("2", "6"),
        "params": {"context_tokens": 128000, "max_output_tokens": 16384, "web_search": True},
        "sort_order": 261,
    },
    {
        "identifier": "openai/o4-mini",
        "name": "o4-mini reasoning (OpenAI)",
        "provider": "openai",
        "upstream_model": "o4-mini",
        "rates": ("4", "16"),
        "params": {
            "context_tokens": 200000,
            "max_output_tokens": 16384,
            "vision": True,
            "reasoning_effort": True,
            "max_tokens_field": "max_completion_tokens",
        },
        "sort_order": 262,
    },
    {
        "identifier": "kolbo/auto-chat",
        "name": "Kolbo Smart Select chat",
        "provider": "kolbo",
        "upstream_model": "auto",
        "rates": ("2", "8"),
        "params": {"context_tokens": 32000, "max_output_tokens": 4096},
        "sort_order": 263,
    },
    {
        "identifier": "krev/chat",
        "name": "Krev assistant",
        "provider": "krev",
        "upstream_model": "auto",
        "rates": ("2", "8"),
        "params": {"context_tokens": 32000, "max_output_tokens": 4096},
        "sort_order": 264,
    },
]


def seed(apps, schema_editor):
    AIModel = apps.get_model("generations", "AIModel")
    for identifier, (rate_in, rate_out, params) in CHAT_MODELS.items():
        model = AIModel.objects.filter(identifier=identifier).first()
        if model is None:
            continue
        if identifier == "studio-local/chat":  # the offline language model (SmolLM2)
            model.name = "SmolLM2 135M (offline)"
            model.description = (
                "Offline: SmolLM2-135M-Instruct on this machine's CPU. "
                "Short, simple answers; no images."
            )
        model.pricing_unit = "per_1k_tokens"
        model.input_token_rate = Decimal(rate_in)
        model.output_token_rate = Decimal(rate_out)
        model.params = {**(model.params or {}), **params}
        model.save()
    for spec in NEW_MODELS:
        rate_in, rate_out = spec["rates"]
        AIModel.objects.update_or_create(
            identifier=spec["identifier"],
            defaults={
                "name": spec["name"],
                "provider": spec["provider"],
                "upstream_model": spec["upstream_model"],
                "types": ["chat"],
                "pricing_unit": "per_1k_tokens",
                "credit": 1,
                "input_token_rate": Decimal(rate_in),
                "output_token_rate": Decimal(rate_out),
                "params": spec["params"],
                "sort_order": spec["sort_order"],
            },
        )


def unseed(apps, schema_editor):
    AIModel = apps.get_model("generations", "AIModel")
    AIModel.objects.filter(identifier__in=list(CHAT_MODELS)).update(pricing_unit="flat")
    identifiers = [spec["identifier"] for spec in NEW_MODELS]
    used = set(
        apps.get_model("generations", "Generation")
        .objects.filter(model__identifier__in=identifiers)
        .values_list("model__identifier", flat=True)
    )
    AIModel.objects.filter(identifier__in=used).update(enabled=False, pricing_unit="flat")
    AIModel.objects.filter(identifier__in=identifiers).exclude(identifier__in=used).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("generations", "0008_runner_handoff"),
        ("accounts", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="aimodel",
            name="input_token_rate",
            field=models.DecimalField(
                decimal_places=4,
                default=0,
                help_text="Credits per 1K input tokens.",
                max_digits=10,
            ),
        ),
        migrations.AddField(
            model_name="aimodel",
            name="output_token_rate",
            field=models.DecimalField(
                decimal_places=4,
                default=0,
                help_text="Credits per 1K output tokens.",
                max_digits=10,
            ),
        ),
        migrations.AlterField(
            model_name="aimodel",
            name="pricing_unit",
            field=models.CharField(
                choices=[
                    ("per_image", "Per image"),
                    ("per_second", "Per second of output"),
                    ("per_100_chars", "Per 100 characters of text"),
                    ("flat", "Flat per generation"),
                    ("per_1k_tokens", "Per 1K tokens in and out (chat)"),
                ],
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="ChatConversation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("title", models.CharField(blank=True, max_length=120)),
                ("system_prompt", models.TextField(blank=True)),
                ("project_id", models.CharField(blank=True, max_length=120)),
                ("stateless", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("last_activity", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "model",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="generations.aimodel",
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chat_conversations",
                        to="accounts.team",
                    ),
                ),
            ],
            options={
                "ordering": ["-last_activity", "-id"],
                "indexes": [
                    models.Index(
                        fields=["team", "stateless", "-last_activity"],
                        name="chat_conv_team_recent",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ChatMessage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("system", "System"),
                            ("user", "User"),
                            ("assistant", "Assistant"),
                        ],
                        max_length=10,
                    ),
                ),
                ("content", models.TextField(blank=True)),
                ("reasoning_content", models.TextField(blank=True)),
                ("media_urls", models.JSONField(blank=True, default=list)),
                ("model_identifier", models.CharField(blank=True, max_length=120)),
                ("prompt_tokens", models.PositiveIntegerField(default=0)),
                ("completion_tokens", models.PositiveIntegerField(default=0)),
                (
                    "credits",
                    models.PositiveIntegerField(
                        default=0, help_text="What the answer cost, settled."
                    ),
                ),
                ("status", models.CharField(blank=True, max_length=12)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "conversation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="generations.chatconversation",
                    ),
                ),
                (
                    "generation",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="chat_message",
                        to="generations.generation",
                    ),
                ),
                (
                    "model",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="generations.aimodel",
                    ),
                ),
            ],
            options={
                "ordering": ["conversation", "created_at", "id"],
                "indexes": [
                    models.Index(fields=["conversation", "created_at"], name="chat_msg_order")
                ],
            },
        ),
        migrations.RunPython(seed, unseed),
    ]
