"""Catalog objects steer generation: a product's cut-out appears in the offline engine's
image, presets, Visual DNA and moodboards add their images and words, and ids that are
unknown or another team's are refused."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from catalog import services
from catalog.models import Moodboard, StylePreset, VisualDNA
from generations import engine
from generations import inputs as job_inputs
from generations.inputs import resolve_references
from generations.models import Generation, GenerationState
from generations.services import start_generation
from studio.errors import NotFound
from tests.catalog.conftest import PRODUCT_RGB, png_bytes, product_photo

pytestmark = pytest.mark.django_db


def analysed_product(team, name: str = "Magenta Bottle"):
    product = services.create_product(
        team, None, services.check_upload(product_photo()), name=name, enqueue=False
    )
    return services.analyse_product(product.pk)


def run(generation: Generation) -> Generation:
    engine.submit(generation.pk)
    generation.refresh_from_db()
    return generation


def product_share_in_centre(generation: Generation) -> float:
    """The share of the centre region's pixels that have the product's colour."""
    asset = generation.assets.get()
    pixels = np.asarray(Image.open(asset.file.path).convert("RGB")).astype(int)
    h, w = pixels.shape[:2]
    centre = pixels[h // 4 : h * 3 // 4, w // 4 : w * 3 // 4]
    close = np.abs(centre - np.array(PRODUCT_RGB)).max(axis=2) < 40
    return float(close.mean())


def test_a_product_led_image_visibly_contains_the_product_in_its_centre(funded_team, alice):
    product = analysed_product(funded_team)
    raw = {"prompt": "studio product shot, soft light", "product_ids": [str(product.pk)]}
    with_product = run(start_generation(funded_team, alice, "image", raw).generation)
    without = run(
        start_generation(funded_team, alice, "image", {"prompt": raw["prompt"]}).generation
    )
    assert with_product.state == GenerationState.SUCCEEDED, with_product.error
    assert without.state == GenerationState.SUCCEEDED
    assert product_share_in_centre(with_product) > 0.1
    assert product_share_in_centre(without) < 0.005
    # The cut-out, not the photo, went in: no backdrop-coloured frame around the product.
    assert with_product.prompt == raw["prompt"]  # what the user wrote is what is stored


def test_the_krev_images_endpoint_takes_product_id_and_product_ids(
    funded_team, alice, make_key, settings
):
    settings.STUDIO_INLINE_WAIT_SECONDS = 0
    client = Client(headers={"Authorization": f"Bearer {make_key(funded_team, alice)}"})
    first, second = analysed_product(funded_team, "A"), analysed_product(funded_team, "B")
    response = client.post(
        "/api/v1/images",
        {"prompt": "two bottles", "product_id": str(first.pk), "product_ids": [str(second.pk)]},
        content_type="application/json",
    )
    assert response.status_code in (200, 202), response.content
    generation = Generation.objects.get()
    assert generation.params["product_ids"] == [str(first.pk), str(second.pk)]
    generation = run(generation)
    assert generation.state == GenerationState.SUCCEEDED
    assert product_share_in_centre(generation) > 0.05


@pytest.mark.parametrize("path", ["/api/v1/images", "/api/v1/videos"])
def test_an_unknown_or_another_teams_product_is_not_found_and_nothing_is_charged(
    funded_team, alice, other_team, charlie, make_key, path
):
    client = Client(headers={"Authorization": f"Bearer {make_key(funded_team, alice)}"})
    theirs = analysed_product(other_team)
    balance = funded_team.total_credits
    for product_id in [str(theirs.pk), "d1e2f3a4-0000-0000-0000-000000000000", "nope"]:
        response = client.post(
            path, {"prompt": "x", "product_id": product_id}, content_type="application/json"
        )
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "NOT_FOUND"
        assert product_id in response.json()["error"]
    funded_team.refresh_from_db()
    assert funded_team.total_credits == balance
    assert not Generation.objects.exists()


def test_an_unknown_preset_is_invalid_and_a_known_one_adds_its_words(funded_team, alice, make_key):
    client = Client(headers={"Authorization": f"Bearer {make_key(funded_team, alice)}"})
    response = client.post(
        "/api/v1/images", {"prompt": "x", "preset_id": "nope"}, content_type="application/json"
    )
    assert response.status_code == 400 and "flat_lay" in response.json()["error"]
    assert set(StylePreset.objects.values_list("slug", flat=True)) >= {
        "flat_lay",
        "lifestyle",
        "studio",
        "outdoor",
    }
    generation = start_generation(
        funded_team, alice, "image", {"prompt": "a mug", "preset_id": "flat_lay"}
    ).generation
    inputs, text = resolve_references(generation, engine.work_dir(generation), 0)
    assert inputs == {} and "flat lay" in text


def test_visual_dna_and_a_moodboard_add_their_images_and_words_after_the_users_references(
    funded_team, alice, tmp_path
):
    dna = services.create_visual_dna(
        funded_team,
        alice,
        name="Mascot",
        dna_type="character",
        uploads=[services.check_upload(png_bytes(colour=(10, 200, 30)))],
        prompt_helper="a round green robot",
    )
    board = Moodboard.objects.filter(team__isnull=True).first()
    generation = start_generation(
        funded_team,
        alice,
        "image",
        {
            "prompt": "hello",
            "visual_dna_ids": [str(dna.pk)],
            "moodboard_id": str(board.pk),
        },
    ).generation
    inputs, text = resolve_references(generation, tmp_path, 2)
    assert list(inputs) == ["ref2", "ref3"]
    assert Image.open(inputs["ref2"]).getpixel((5, 5)) == (10, 200, 30)
    assert "a round green robot" in text and board.style_guide in text
    assert dna.system_prompt in text


def test_the_engine_appends_catalog_text_to_the_prompt_it_renders(funded_team, alice):
    generation = start_generation(
        funded_team, alice, "image", {"prompt": "a mug", "preset_id": "studio"}
    ).generation
    directory = engine.work_dir(generation)
    job_inputs.fetch_inputs(generation, directory)
    assert generation.params["prompt"].startswith("a mug ")
    assert "softbox" in generation.params["prompt"]


def test_another_teams_visual_dna_is_refused_before_anything_is_charged(
    funded_team, alice, other_team, charlie
):
    theirs = services.create_visual_dna(
        other_team,
        charlie,
        name="Secret",
        dna_type="style",
        uploads=[services.check_upload(png_bytes())],
    )
    balance = funded_team.total_credits
    with pytest.raises(NotFound, match="Visual DNA not found"):
        start_generation(
            funded_team, alice, "image", {"prompt": "x", "visual_dna_ids": [str(theirs.pk)]}
        )
    funded_team.refresh_from_db()
    assert funded_team.total_credits == balance
    assert not Generation.objects.filter(team=funded_team).exists()


def test_global_visual_dnas_are_usable_by_every_team(funded_team, alice, tmp_path):
    shared = VisualDNA.objects.filter(team__isnull=True).first()
    generation = start_generation(
        funded_team, alice, "image", {"prompt": "x", "visual_dna_ids": [str(shared.pk)]}
    ).generation
    inputs, text = resolve_references(generation, tmp_path, 0)
    assert list(inputs) == ["ref0"] and shared.name in text


def test_the_kolbo_image_endpoint_honours_visual_dna_ids_and_moodboard_id(
    funded_team, alice, make_key, django_capture_on_commit_callbacks
):
    client = Client(headers={"X-API-Key": make_key(funded_team, alice)})
    dna = VisualDNA.objects.filter(team__isnull=True).first()
    board = Moodboard.objects.filter(team__isnull=True).first()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/generate/image",
            {"prompt": "a chair", "visual_dna_ids": [str(dna.pk)], "moodboard_id": str(board.pk)},
            content_type="application/json",
        )
    assert response.status_code == 200, response.content
    generation = Generation.objects.get()
    assert generation.state == GenerationState.SUCCEEDED, generation.error
    assert generation.params["visual_dna_ids"] == [str(dna.pk)]
    assert generation.params["moodboard_id"] == str(board.pk)


def test_a_product_led_video_is_accepted_on_the_krev_videos_endpoint(
    funded_team, alice, make_key, settings
):
    settings.STUDIO_INLINE_WAIT_SECONDS = 0
    client = Client(headers={"Authorization": f"Bearer {make_key(funded_team, alice)}"})
    product = analysed_product(funded_team)
    response = client.post(
        "/api/v1/videos",
        {"prompt": "a slow turn", "product_id": str(product.pk), "duration": 4},
        content_type="application/json",
    )
    assert response.status_code in (200, 202), response.content
    generation = Generation.objects.get()
    assert generation.params["product_ids"] == [str(product.pk)]
    inputs, _ = resolve_references(generation, engine.work_dir(generation), 0)
    assert list(inputs) == ["ref0", "image_url"]
    assert Image.open(inputs["ref0"]).mode == "RGBA"  # the cut-out, for upstream adapters
    # The offline engine animates a still of the product in its scene: the video shows it.
    generation = run(generation)
    assert generation.state == GenerationState.SUCCEEDED, generation.error
    frame = middle_frame(generation.assets.get().file.path)
    h, w = frame.shape[:2]
    centre = frame[h // 4 : h * 3 // 4, w // 4 : w * 3 // 4].astype(int)
    assert (np.abs(centre - np.array(PRODUCT_RGB)).max(axis=2) < 50).mean() > 0.02


def middle_frame(path: str) -> np.ndarray:
    import av

    with av.open(path) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return frames[len(frames) // 2]
