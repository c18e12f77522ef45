"""The catalog details Kolbo's and Krev's docs show: Visual DNA updates, camelCase fields,
the `scene` type, list scopes, search and paging, moodboard updates and deletes, and Krev
product metadata with strings where the seed shows strings."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import encode_multipart

from catalog import services
from catalog.models import Moodboard, VisualDNA
from tests.catalog.conftest import png_bytes, product_photo

pytestmark = pytest.mark.django_db

BOUNDARY = "BoUnDaRyStudio"


def image_file(name: str = "ref.png", colour=(40, 90, 210)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(colour=colour), "image/png")


def put_multipart(client, path: str, fields: dict):
    return client.put(
        path,
        encode_multipart(BOUNDARY, fields),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )


def make_dna(api, **fields) -> dict:
    body = {"name": "Hero", "dnaType": "product", "images": [image_file()], **fields}
    response = api.post("/api/v1/visual-dna", body)
    assert response.status_code == 200, response.content
    return response.json()["visual_dna"]


def test_a_scene_visual_dna_is_created_from_camel_case_fields(api, team):
    # -F "name=Loft" -F "dnaType=scene" -F "promptHelper=warm industrial loft" -F "images=@a.png"
    dna = make_dna(api, name="Loft", dnaType="scene", promptHelper="warm industrial loft")
    assert dna["dna_type"] == "scene" and dna["is_global"] is False
    assert "warm industrial loft" in dna["description"]


def test_put_visual_dna_changes_the_fields_sent_and_replaces_the_images(api, team):
    dna = make_dna(api, images=[image_file("a.png"), image_file("b.png")])
    old_files = set(VisualDNA.objects.get(pk=dna["id"]).images.values_list("file", flat=True))
    response = put_multipart(
        api,
        f"/api/v1/visual-dna/{dna['id']}",
        {
            "name": "Hero v2",
            "dnaType": "style",
            "promptHelper": "grainy film",
            "images": [image_file("c.png", (220, 30, 30))],
        },
    )
    assert response.status_code == 200, response.content
    updated = response.json()["visual_dna"]
    assert updated["name"] == "Hero v2" and updated["dna_type"] == "style"
    assert len(updated["images"]) == 1 and "red" in updated["description"]
    assert "grainy film" in updated["system_prompt"]
    new_files = set(VisualDNA.objects.get(pk=dna["id"]).images.values_list("file", flat=True))
    assert not old_files & new_files


def test_put_visual_dna_as_json_renames_and_keeps_the_images(api, team):
    dna = make_dna(api)
    response = api.put(
        f"/api/v1/visual-dna/{dna['id']}",
        {"name": "Renamed", "prompt_helper": "glossy"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    updated = response.json()["visual_dna"]
    assert updated["name"] == "Renamed" and updated["dna_type"] == "product"
    assert len(updated["images"]) == 1 and "glossy" in updated["description"]
    bad = api.put(
        f"/api/v1/visual-dna/{dna['id']}", {"dna_type": "robot"}, content_type="application/json"
    )
    assert bad.status_code == 400


def test_global_and_other_teams_visual_dnas_cannot_be_updated(api, team, other_team, charlie):
    global_dna = VisualDNA.objects.filter(team__isnull=True).first()
    r = api.put(
        f"/api/v1/visual-dna/{global_dna.pk}", {"name": "Mine"}, content_type="application/json"
    )
    assert r.status_code == 403
    theirs = services.create_visual_dna(
        other_team,
        charlie,
        name="Theirs",
        dna_type="style",
        uploads=[services.check_upload(png_bytes())],
    )
    r = api.put(f"/api/v1/visual-dna/{theirs.pk}", {"name": "x"}, content_type="application/json")
    assert r.status_code == 404


def test_the_visual_dna_list_takes_scope_search_and_paging_and_marks_global_ones(api, team):
    for name in ("Red Sneaker", "Blue Sneaker", "Green Mug"):
        make_dna(api, name=name)
    everything = api.get("/api/v1/visual-dna").json()
    assert any(d["is_global"] for d in everything["visual_dnas"])
    personal = api.get("/api/v1/visual-dna?scope=personal").json()
    assert personal["count"] == 3 and not any(d["is_global"] for d in personal["visual_dnas"])
    global_only = api.get("/api/v1/visual-dna?scope=global").json()
    assert global_only["count"] >= 1 and all(d["is_global"] for d in global_only["visual_dnas"])
    found = api.get("/api/v1/visual-dna?search=sneaker&scope=personal").json()
    assert {d["name"] for d in found["visual_dnas"]} == {"Red Sneaker", "Blue Sneaker"}
    page1 = api.get("/api/v1/visual-dna?scope=personal&page=1&limit=2").json()
    page2 = api.get("/api/v1/visual-dna?scope=personal&page=2&limit=2").json()
    assert page1["count"] == 2 and page2["count"] == 1
    assert page1["pagination"] == {"page": 1, "limit": 2, "total": 3, "pages": 2}
    assert api.get("/api/v1/visual-dna?scope=team").status_code == 400


def data_url(colour=(40, 90, 210)) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(colour=colour)).decode()


def test_put_moodboard_updates_it_and_delete_removes_it(api, team):
    created = api.post(
        "/api/v1/moodboards",
        {"name": "Calm", "images": [{"type": "url", "url": data_url()}], "style_guide": "soft"},
        content_type="application/json",
    ).json()["moodboard"]
    response = api.put(
        f"/api/v1/moodboards/{created['id']}",
        {
            "name": "Loud",
            "style_guide": "Hard light, saturated.",
            "images": [
                {"type": "url", "url": data_url((220, 30, 30))},
                {"type": "url", "url": data_url((250, 200, 30))},
            ],
        },
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    board = response.json()["moodboard"]
    assert board["name"] == "Loud" and board["style_guide"] == "Hard light, saturated."
    assert len(board["images"]) == 2 and "red" in board["master_prompt"]

    deleted = api.delete(f"/api/v1/moodboards/{created['id']}")
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    assert api.get(f"/api/v1/moodboards/{created['id']}").status_code == 404
    assert not Moodboard.objects.filter(pk=created["id"]).exists()


def test_preset_moodboards_cannot_be_changed_or_deleted(api, team):
    preset = Moodboard.objects.filter(team__isnull=True).first()
    assert api.delete(f"/api/v1/moodboards/{preset.pk}").status_code == 403
    r = api.put(f"/api/v1/moodboards/{preset.pk}", {"name": "x"}, content_type="application/json")
    assert r.status_code == 403


def test_moodboard_scopes_all_personal_preset_and_global(api, team):
    services.create_moodboard(team, None, name="Mine", uploads=[services.check_upload(png_bytes())])
    counts = {
        scope: api.get(f"/api/v1/moodboards?scope={scope}").json()["count"]
        for scope in ("all", "personal", "preset", "global")
    }
    assert counts["personal"] == 1
    assert counts["global"] == counts["preset"] >= 1
    assert counts["all"] == counts["personal"] + counts["preset"]


def test_krev_product_metadata_has_the_seeds_keys_and_no_nulls(bearer, team):
    upload = SimpleUploadedFile("IMG_0042.jpg", product_photo(), "image/jpeg")
    data = bearer.post("/api/v1/products", {"file": upload}).json()["data"]
    metadata = data["metadata"]
    assert None not in metadata.values()
    assert isinstance(metadata["colors"], list) and metadata["colors"]
    assert isinstance(metadata["materials"], list)
    for key in ("brandName", "productName", "productType"):
        assert key not in metadata or isinstance(metadata[key], str)
    named = bearer.post(
        "/api/v1/products",
        {
            "file": SimpleUploadedFile("p.jpg", product_photo(), "image/jpeg"),
            "name": "Day Shift by Vysionary",
        },
    ).json()["data"]["metadata"]
    assert named["brandName"] == "Vysionary" and named["productName"] == "Day Shift"
