"""Image editing: `POST /api/v1/generate/image-edit` and the offline editor behind it."""

from __future__ import annotations

import base64
import io
import uuid
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from django.test import Client
from PIL import Image, ImageDraw

from generations.models import Generation
from generations.providers.local.edit import render_edits
from generations.providers.local.edit_plan import plan_edit
from studio.accounts import credits
from studio.accounts.models import Bucket
from studio.vault.services import create_api_key

BACKDROP = (236, 236, 232)
PRODUCT = (200, 40, 40)
CAP = (40, 40, 50)


def product_photo(width: int = 480, height: int = 360) -> tuple[Image.Image, np.ndarray]:
    """A product shot on a plain backdrop, and the product's exact mask."""
    image = Image.new("RGB", (width, height), BACKDROP)
    mask = Image.new("L", (width, height), 0)
    for canvas, body, cap in ((image, PRODUCT, CAP), (mask, 255, 255)):
        draw = ImageDraw.Draw(canvas)
        draw.rounded_rectangle((190, 80, 290, 300), 18, fill=body)
        draw.ellipse((205, 40, 275, 110), fill=cap)
    return image, np.asarray(mask) > 0


def data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def shrink(mask: np.ndarray, by: int) -> np.ndarray:
    """The mask eroded by `by` pixels (its sure inside), without OpenCV in the test."""
    inner = mask.copy()
    for axis in (0, 1):
        for shift in range(1, by + 1):
            inner &= np.roll(mask, shift, axis) & np.roll(mask, -shift, axis)
    return inner


def fetch_image(url: str) -> Image.Image:
    parsed = urlparse(url)
    response = Client().get(f"{parsed.path}?{parsed.query}")
    assert response.status_code == 200
    return Image.open(io.BytesIO(b"".join(response.streaming_content)))


def edit(client: Client, body: dict):
    return client.post("/api/v1/generate/image-edit", body, content_type="application/json")


def balance(team) -> int:
    team.refresh_from_db()
    return team.total_credits


@pytest.fixture(autouse=True)
def own_rate_limits(settings):
    settings.STUDIO_RATELIMIT_PREFIX = f"rl-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def api(team, alice) -> Client:
    """A client sending alice's API key, as a Kolbo client does."""
    return Client(headers={"X-API-Key": create_api_key(team, alice, "Edits").full_key})


@pytest.fixture
def funded(team):
    credits.grant(team, 20_000, bucket=Bucket.PACK)
    return team


# --- through the API, on the offline editor ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_make_the_background_blue_turns_the_background_blue_and_keeps_the_subject(api, funded):
    photo, product = product_photo()
    start = edit(api, {"prompt": "Make the background blue", "source_images": [data_url(photo)]})
    assert start.status_code == 200, start.content
    body = start.json()
    assert body["type"] == "image_edit" and body["poll_interval_hint"] == 3
    assert body["model"] == "studio-local/image-edit" and body["credits_charged"] == 40

    status = api.get(body["poll_url"]).json()
    assert status["state"] == "completed", status
    assert status["result"]["edits"] == ["background → blue (#1d4ed8)"]
    [url] = status["result"]["urls"]
    pixels = np.asarray(fetch_image(url).convert("RGB")).astype(int)
    original = np.asarray(photo).astype(int)

    # The product is untouched: exactly, clear of its feathered edge; nearly, up to it.
    subject = shrink(product, 5)
    assert np.abs(pixels[subject] - original[subject]).max() == 0
    assert (np.abs(pixels[product] - original[product]).max(axis=1) == 0).mean() > 0.95
    background = shrink(~product, 4)  # clear of the product's edge
    r, g, b = pixels[background].T
    assert (b > r + 100).mean() > 0.99 and (b > g + 80).mean() > 0.99  # blue, all of it
    assert abs(np.median(b) - 0xD8) < 12


@pytest.mark.django_db(transaction=True)
def test_the_edit_keeps_the_source_aspect_ratio_unless_one_is_asked(api, funded):
    photo, _ = product_photo(480, 360)
    source = data_url(photo)
    kept = edit(api, {"prompt": "make it warmer", "source_images": [source]}).json()
    result = api.get(kept["poll_url"]).json()["result"]
    assert result["aspect_ratio"] == "4:3"
    assert fetch_image(result["urls"][0]).size == (480, 360)

    asked = edit(
        api, {"prompt": "put it on a beach", "source_images": [source], "aspect_ratio": "9:16"}
    ).json()
    result = api.get(asked["poll_url"]).json()["result"]
    width, height = fetch_image(result["urls"][0]).size
    assert result["aspect_ratio"] == "9:16" and abs(width / height - 9 / 16) < 0.01


@pytest.mark.django_db(transaction=True)
def test_an_image_the_team_made_is_edited_from_its_studio_link(api, funded):
    made = api.post(
        "/api/v1/generate/image",
        {"prompt": "a red bottle on a white table", "aspect_ratio": "4:3"},
        content_type="application/json",
    ).json()
    [link] = api.get(made["poll_url"]).json()["result"]["urls"]
    started = edit(api, {"prompt": "black and white", "source_images": [link]})
    assert started.status_code == 200, started.content
    status = api.get(started.json()["poll_url"]).json()
    assert status["state"] == "completed" and status["result"]["edits"] == [
        "style: black and white"
    ]
    pixels = np.asarray(fetch_image(status["result"]["urls"][0]).convert("RGB")).astype(int)
    assert np.abs(pixels[..., 0] - pixels[..., 2]).max() <= 1  # grey all over
    stored = Generation.objects.get(uuid=started.json()["generation_id"])
    assert stored.params["source_images"][0].startswith("studio-asset:")  # a lasting reference


@pytest.mark.parametrize("count", [0, 5])
@pytest.mark.django_db(transaction=True)
def test_an_edit_takes_one_to_four_source_images_and_charges_nothing_otherwise(api, funded, count):
    photo, _ = product_photo(64, 48)
    before = balance(funded)
    r = edit(api, {"prompt": "make it blue", "source_images": [data_url(photo)] * count})
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_FIELDS" and "source_images" in r.json()["error"]
    assert balance(funded) == before and not Generation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_edit_without_source_images_names_the_missing_field(api, funded):
    r = edit(api, {"prompt": "make it blue"})
    assert r.status_code == 400
    assert r.json()["code"] == "MISSING_FIELDS" and "source_images" in r.json()["error"]


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/photo.png", "http://10.0.0.7/photo.png", "file:///etc/passwd"],
)
@pytest.mark.django_db(transaction=True)
def test_private_or_non_web_source_urls_are_refused_before_any_charge(api, funded, url):
    before = balance(funded)
    r = edit(api, {"prompt": "make it blue", "source_images": [url]})
    assert r.status_code == 400, r.content
    assert balance(funded) == before and not Generation.objects.exists()


@pytest.mark.parametrize("field", ["visual_dna_ids", "moodboard_id"])
@pytest.mark.django_db(transaction=True)
def test_another_teams_visual_dna_or_moodboard_is_not_found_before_any_charge(
    api, funded, other_team, field
):
    from catalog.models import Moodboard, VisualDNA

    if field == "visual_dna_ids":
        value = [str(VisualDNA.objects.create(team=other_team, name="Theirs", dna_type="style").id)]
    else:
        value = str(Moodboard.objects.create(team=other_team, name="Theirs").id)
    photo, _ = product_photo(64, 48)
    before = balance(funded)
    r = edit(api, {"prompt": "make it blue", "source_images": [data_url(photo)], field: value})
    assert r.status_code == 404, r.content
    assert balance(funded) == before and not Generation.objects.exists()


@pytest.mark.parametrize("name", ["image_edit", "image_editing"])
@pytest.mark.django_db(transaction=True)
def test_the_models_list_names_the_edit_models_by_type_and_raw_type(api, funded, name):
    models = api.get(f"/api/v1/models?type={name}").json()["models"]
    assert [m["identifier"] for m in models] == ["studio-local/image-edit"]
    assert models[0]["types"] == ["image_edit", "image_editing"] and models[0]["credit"] == 40


# --- the offline editor, pixel by pixel --------------------------------------------------------


def edited(tmp_path: Path, prompt: str, **options) -> tuple[np.ndarray, dict, np.ndarray]:
    photo, product = product_photo()
    source = tmp_path / "source.png"
    photo.save(source)
    [file], meta = render_edits(prompt, [source], out_dir=tmp_path / "out", **options)
    with Image.open(file.path) as picture:
        return np.asarray(picture.convert("RGB")).astype(int), meta, product


def test_make_it_blue_recolours_the_product_and_leaves_the_backdrop(tmp_path):
    pixels, meta, product = edited(tmp_path, "make it blue")
    body = shrink(product, 3)
    body[:115] = False  # below the cap: the red body
    r, g, b = np.median(pixels[body], axis=0)
    assert b > r + 80 and b > g + 60
    outside = shrink(~product, 4)
    assert np.abs(pixels[outside] - np.array(BACKDROP)).max() <= 1
    assert "recoloured" in meta["edits"][0]


def test_warmer_light_raises_red_over_blue(tmp_path):
    pixels, meta, _ = edited(tmp_path, "make it warmer")
    r, _, b = pixels[10, 10]
    assert r > b + 20 and meta["edits"] == ["light: warmer"]


def test_darker_and_brighter_move_the_brightness_the_asked_way(tmp_path):
    darker, _, _ = edited(tmp_path, "darker")
    brighter, _, _ = edited(tmp_path, "brighter")
    original = np.asarray(product_photo()[0]).astype(int)
    assert darker.mean() < original.mean() - 20 < brighter.mean() - 20


def test_put_it_on_a_beach_paints_a_scene_behind_the_unchanged_product(tmp_path):
    pixels, meta, product = edited(tmp_path, "put it on a beach")
    original = np.asarray(product_photo()[0]).astype(int)
    subject = shrink(product, 5)
    assert np.abs(pixels[subject] - original[subject]).max() == 0
    outside = shrink(~product, 4)
    assert np.abs(pixels[outside] - np.array(BACKDROP)).mean() > 60
    assert meta["edits"] == ["background → painted scene: beach"]


def test_an_instruction_it_cannot_read_still_edits_and_says_what_it_did(tmp_path):
    pixels, meta, _ = edited(tmp_path, "make it sparkle like magic")
    original = np.asarray(product_photo()[0]).astype(int)
    assert np.abs(pixels - original).mean() > 2
    assert meta["not_understood"] == ["make it sparkle like magic"]
    assert meta["edits"][0].startswith("a colour grade")
    assert meta["notes"][0].startswith("no recolour, light, style or background instruction")


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Make the background blue", {"background": "colour:blue"}),
        ("change the backdrop to light blue", {"background": "colour:light blue"}),
        ("put the bottle on a snowy beach", {"background": "scene:snowy beach"}),
        ("replace the background with a forest", {"background": "scene:forest"}),
        ("remove the background", {"background": "remove"}),
        ("make the shirt red", {"recolour": "red", "target": "shirt"}),
        ("make it dark green", {"recolour": "dark green"}),
        ("warmer, at sunset", {"light": ["sunset"]}),
        ("black and white", {"style": ["black and white"]}),
        (
            "give it a vintage look and make it brighter",
            {"style": ["vintage"], "light": ["brighter"]},
        ),
        ("watercolor", {"style": ["watercolor"]}),
    ],
)
def test_the_instruction_is_read_by_clear_rules(prompt, expected):
    plan = plan_edit(prompt)
    background = plan.background
    if background is None:
        said = None
    elif background.kind == "colour" and background.colour:
        said = f"colour:{background.colour.name}"
    elif background.kind == "scene":
        said = f"scene:{background.scene}"
    else:
        said = background.kind
    read = {
        "background": said,
        "recolour": plan.recolour.name if plan.recolour else None,
        "target": plan.recolour_target or None,
        "light": plan.light or None,
        "style": plan.style or None,
    }
    assert {k: v for k, v in read.items() if v is not None} == expected
    assert plan.unread == []


# --- the dashboard: Edit on any image ------------------------------------------------------------


@pytest.mark.django_db
def test_the_edit_action_on_a_gallery_image_leads_to_a_working_edit(
    funded_team, alice, alice_client
):
    from django.urls import reverse

    from tests.generations.helpers import run, start

    made = run(start(funded_team, alice, "image", {"prompt": "a red kite", "aspect_ratio": "4:3"}))
    asset = made.assets.get()
    edit_link = (
        f"{reverse('studio', args=[funded_team.uuid])}?type=image_edit&amp;source={asset.uuid}"
    )
    detail = alice_client.get(reverse("gallery_detail", args=[funded_team.uuid, made.uuid]))
    assert edit_link in detail.content.decode()
    gallery = alice_client.get(reverse("gallery", args=[funded_team.uuid])).content.decode()
    assert edit_link in gallery

    form = alice_client.get(edit_link.replace("&amp;", "&")).content.decode()
    assert 'data-testid="tab-image_edit"' in form and 'aria-current="page"' in form
    assert f'type="checkbox" name="source" value="{asset.uuid}" checked' in form
    assert "Same as the source" in form

    response = alice_client.post(
        reverse("studio", args=[funded_team.uuid]),
        {"type": "image_edit", "source": [str(asset.uuid)], "prompt": "make the background blue"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    edited = run(Generation.objects.get(team=funded_team, type="image_edit"))
    assert edited.params["source_images"] == [f"studio-asset:{asset.uuid}/file"]
    assert edited.state == "succeeded" and edited.credits_charged == 40
    picture = edited.assets.get()
    assert (picture.width, picture.height) == (asset.width, asset.height)  # the source's shape
    detail = alice_client.get(reverse("gallery_detail", args=[funded_team.uuid, edited.uuid]))
    assert "1 image" in detail.content.decode() and "data:image" not in detail.content.decode()


@pytest.mark.django_db
def test_an_edit_without_an_image_says_what_to_do(funded_team, alice_client):
    from django.urls import reverse

    response = alice_client.post(
        reverse("studio", args=[funded_team.uuid]),
        {"type": "image_edit", "prompt": "make it blue"},
        HTTP_HX_REQUEST="true",
    )
    assert "Pick an image to edit, or paste an image URL." in response.content.decode()
    assert not Generation.objects.exists()


def test_each_output_edits_its_own_source_and_a_short_count_says_so(tmp_path):
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    product_photo()[0].save(first)
    Image.new("RGB", (300, 600), (20, 160, 60)).save(second)
    files, meta = render_edits("black and white", [first, second], count=2, out_dir=tmp_path)
    assert [(f.width, f.height) for f in files] == [(480, 360), (300, 600)]
    assert "notes" not in meta
    _, meta = render_edits("black and white", [first, second], count=1, out_dir=tmp_path)
    assert meta["notes"] == [
        "edited 1 of the 2 source images (one per output image); ask for 2 images to edit each"
    ]


def test_a_busy_photo_is_edited_with_a_guessed_subject_and_says_so(tmp_path):
    rng = np.random.default_rng(3)
    busy = Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), "RGB")
    busy.save(tmp_path / "busy.png")
    [file], meta = render_edits(
        "make the background blue", [tmp_path / "busy.png"], out_dir=tmp_path / "out"
    )
    assert meta["edits"] == ["background → blue (#1d4ed8)"]
    assert meta["notes"][0].startswith("no plain backdrop")
    with Image.open(file.path) as picture:
        corner = np.asarray(picture.convert("RGB"))[:10, :10].reshape(-1, 3).astype(int)
    assert (corner[:, 2] > corner[:, 0] + 100).all()  # the frame's edge is background: blue
