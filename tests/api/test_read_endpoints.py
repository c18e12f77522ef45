"""GET /models, /voices, /account/credits and /credits, as the seeds' curl examples send them."""

from __future__ import annotations

from generations.models import AIModel
from generations.providers import offline_llm
from studio.accounts import credits
from studio.accounts.models import Bucket


def test_models_as_in_the_kolbo_error_docs(api):
    # curl https://api.kolbo.ai/api/v1/models -H "X-API-Key: YOUR_API_KEY"
    r = api.get("/api/v1/models")
    assert r.status_code == 200
    body = r.json()
    # Five offline media models, and the offline chat model where its extra is installed.
    expected = 6 if offline_llm.installed() else 5
    assert body["success"] is True and body["count"] == len(body["models"]) >= expected
    image = next(m for m in body["models"] if m["identifier"] == "studio-local/image")
    assert set(image) >= {
        "identifier",
        "name",
        "provider",
        "types",
        "credit",
        "supported_aspect_ratios",
        "supported_durations",
        "max_reference_images",
        "recommended",
        "new_model",
    }
    # Studio's type, then the raw name Kolbo's clients filter on.
    assert image["types"] == ["image", "text_to_img"]
    assert image["credit"] == 40 and image["recommended"]


def test_models_filter_by_type_and_provider(api):
    video = api.get("/api/v1/models?type=video_from_image").json()
    assert [m["identifier"] for m in video["models"]] == ["studio-local/video"]
    assert api.get("/api/v1/models?provider=fal").json() == {
        "success": True,
        "models": [],
        "count": 0,
    }


def test_disabled_models_are_not_listed(api):
    AIModel.objects.filter(identifier="studio-local/chat").update(enabled=False)
    ids = [m["identifier"] for m in api.get("/api/v1/models").json()["models"]]
    assert "studio-local/chat" not in ids


def test_voices_filter_by_language_and_gender(api):
    body = api.get("/api/v1/voices?language=en-US&gender=female").json()
    assert [v["voice_id"] for v in body["voices"]] == ["en-us-f"]
    assert body["voices"][0]["language_code"] == "en-US"
    assert api.get("/api/v1/voices?language=en").json()["count"] == 4
    assert api.get("/api/v1/voices?language=German").json()["count"] == 1


def test_account_credits_in_kolbo_shape(team, api):
    credits.grant(team, 300, bucket=Bucket.PACK)
    credits.grant(team, 25, bucket=Bucket.REDEMPTION)
    team.refresh_from_db()
    r = api.get("/api/v1/account/credits")
    assert r.json() == {
        "success": True,
        "credits": {
            "total": team.plan_credits + 325,
            "plan_credits": team.plan_credits,
            "credit_pack": 300,
            "redemption": 25,
        },
    }


def test_credits_in_krev_shape_as_in_the_krev_reference(team, bearer):
    # curl https://app.krev.ai/api/v1/credits -H "Authorization: Bearer sk_live_YOUR_KEY"
    plan = team.plan
    plan.storage_limit_bytes = 2147483648
    plan.save()
    team.storage_used_bytes = 524288000
    team.save()
    body = bearer.get("/api/v1/credits").json()
    assert body["success"] is True
    data = body["data"]
    assert data["plan"] == plan.slug and data["plan_name"] == plan.name
    assert data["credits"]["current"] == team.total_credits
    assert data["credits"]["limit"] == plan.monthly_credits
    assert data["credits"]["current_formatted"] == f"{team.total_credits:,}"
    assert data["storage"] == {
        "used_bytes": 524288000,
        "limit_bytes": 2147483648,
        "used_formatted": "500 MB",
        "limit_formatted": "2 GB",
    }
    assert data["resets_at"].endswith("Z")


def test_authenticated_credits_take_at_most_three_queries(api, django_assert_max_num_queries):
    api.get("/api/v1/account/credits")  # first use records last_used_at
    with django_assert_max_num_queries(3):
        assert api.get("/api/v1/account/credits").status_code == 200


def test_format_bytes():
    from studio.accounts.api import format_bytes

    assert format_bytes(0) == "0 B"
    assert format_bytes(1536) == "1.5 KB"
    assert format_bytes(1024**4 * 3) == "3 TB"
