"""Image edits on upstreams: fal's edit models and OpenAI's images edits, against their fakes."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from generations.models import GenerationState
from studio.accounts.models import LedgerEntry, LedgerKind
from tests.fakes.fal import FalFake
from tests.fakes.openai_compat import OpenAIFake
from tests.providers.conftest import (
    drive_through_api,
    fake_fixture,
    reset,
)

pytestmark = pytest.mark.django_db(transaction=True)

fal_server = fake_fixture(FalFake)
openai_server = fake_fixture(OpenAIFake)


@pytest.fixture
def fal(fal_server):
    fal_server.received_images.clear()
    yield reset(fal_server)
    reset(fal_server)


@pytest.fixture
def openai(openai_server):
    openai_server.edit_requests.clear()
    yield reset(openai_server)
    reset(openai_server)


def photo_bytes(colour: tuple[int, int, int], size: tuple[int, int] = (48, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def test_fal_kontext_receives_the_source_image_and_its_result_is_stored(
    fal, api, funded_team, upstream_credentials
):
    upstream_credentials("fal", fal.url, fal.secret)
    source = photo_bytes((200, 40, 40))
    generation = drive_through_api(
        api,
        "/api/v1/generate/image-edit",
        {
            "prompt": "make the background blue",
            "model": "fal-ai/flux-pro/kontext",
            "source_images": [data_url(source)],
        },
    )
    assert generation.state == GenerationState.SUCCEEDED, generation.failure
    assert fal.received_images[-1] == [source]  # the very bytes we sent
    sent = fal.submitted[-1]
    assert sent["prompt"] == "make the background blue" and "aspect_ratio" not in sent
    assert "image_urls" not in sent and sent["image_url"].startswith("data:image/png;base64,")
    asset = generation.assets.get()
    assert asset.mime_type == "image/png" and asset.size_bytes > 0


def test_fal_multi_image_kontext_receives_every_source(fal, api, funded_team, upstream_credentials):
    upstream_credentials("fal", fal.url, fal.secret)
    sources = [photo_bytes((200, 40, 40)), photo_bytes((40, 200, 40))]
    generation = drive_through_api(
        api,
        "/api/v1/generate/image-edit",
        {
            "prompt": "put the two products side by side on a beach",
            "model": "fal-ai/flux-pro/kontext/max/multi",
            "source_images": [data_url(s) for s in sources],
            "aspect_ratio": "16:9",
        },
    )
    assert generation.state == GenerationState.SUCCEEDED, generation.failure
    assert fal.received_images[-1] == sources
    assert fal.submitted[-1]["aspect_ratio"] == "16:9"
    assert generation.credits_charged == 80


def test_openai_edits_receive_the_source_images_as_multipart_and_the_result_is_stored(
    openai, api, funded_team, upstream_credentials
):
    upstream_credentials("openai", openai.base_url, openai.secret)
    sources = [photo_bytes((200, 40, 40)), photo_bytes((40, 40, 200))]
    generation = drive_through_api(
        api,
        "/api/v1/generate/image-edit",
        {
            "prompt": "make it vintage",
            "model": "openai/gpt-image-1-edit",
            "source_images": [data_url(s) for s in sources],
            "num_images": 2,
        },
    )
    assert generation.state == GenerationState.SUCCEEDED, generation.failure
    [received] = openai.edit_requests
    assert received["images"] == sources
    assert received["fields"] == {
        "model": "gpt-image-1",
        "prompt": "make it vintage",
        "n": "2",
        "size": "auto",  # the source's own shape
    }
    assert generation.assets.count() == 2 and generation.credits_charged == 120


def test_a_failed_upstream_edit_is_refunded_once(fal, api, funded_team, upstream_credentials):
    upstream_credentials("fal", fal.url, fal.secret)
    fal.faults.set("fail_job")
    funded_team.refresh_from_db()
    before = funded_team.total_credits
    generation = drive_through_api(
        api,
        "/api/v1/generate/image-edit",
        {
            "prompt": "make it blue",
            "model": "fal-ai/flux-pro/kontext",
            "source_images": [data_url(photo_bytes((200, 40, 40)))],
        },
    )
    assert generation.state == GenerationState.FAILED
    refunds = LedgerEntry.objects.filter(kind=LedgerKind.REFUND, cause=generation.ledger_cause)
    assert [r.amount for r in refunds] == [generation.credits_charged] == [40]
    funded_team.refresh_from_db()
    assert funded_team.total_credits == before
    status = api.get(f"/api/v1/generate/{generation.uuid}/status").json()
    assert status["state"] == "failed" and status["credits_refunded"] == 40


def test_an_upstream_edit_model_counts_only_with_a_credential(api, funded_team):
    models = api.get("/api/v1/models?type=image_edit").json()["models"]
    assert [m["identifier"] for m in models] == ["studio-local/image-edit"]


def test_edit_models_of_a_provider_with_a_credential_are_listed(
    fal, api, funded_team, upstream_credentials
):
    upstream_credentials("fal", fal.url, fal.secret)
    models = api.get("/api/v1/models?type=image_editing").json()["models"]
    assert {m["identifier"] for m in models} == {
        "studio-local/image-edit",
        "fal-ai/flux-pro/kontext",
        "fal-ai/flux-pro/kontext/max/multi",
    }
