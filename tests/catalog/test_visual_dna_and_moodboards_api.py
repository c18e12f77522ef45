"""Kolbo's Visual DNA and moodboard endpoints: shapes, spellings, limits, team isolation."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from catalog import services
from catalog.models import CatalogImage, Moodboard, VisualDNA
from tests.catalog.conftest import png_bytes, product_photo, team_files
from tests.fakes.server import LoopbackServer, Response

pytestmark = pytest.mark.django_db


def image_file(name: str = "ref.png", colour=(40, 90, 210)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(colour=colour), "image/png")


def test_a_visual_dna_is_created_from_multipart_images_with_an_analysed_description(api, team):
    response = api.post(
        "/api/v1/visual-dna",
        {
            "name": "Blue Mascot",
            "dna_type": "character",
            "images": [image_file("a.png"), image_file("b.png", (250, 200, 30))],
            "prompt_helper": "friendly round robot",
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    dna = body["visual_dna"]
    assert set(dna) == {
        "id",
        "name",
        "dna_type",
        "description",
        "thumbnail_url",
        "images",
        "created_at",
        "is_global",
    }
    assert dna["name"] == "Blue Mascot" and dna["dna_type"] == "character"
    assert "blue" in dna["description"] and "yellow" in dna["description"]
    assert "friendly round robot" in dna["description"]
    assert len(dna["images"]) == 2 and dna["thumbnail_url"].startswith("http")
    detail = api.get(f"/api/v1/visual-dna/{dna['id']}").json()["visual_dna"]
    assert detail["is_global"] is False
    assert "friendly round robot" in detail["system_prompt"]
    team.refresh_from_db()
    assert team.storage_used_bytes == sum(p.stat().st_size for p in team_files(team))


def test_camel_case_field_names_are_accepted(api, team):
    response = api.post(
        "/api/v1/visual-dna",
        {"name": "Hero", "dnaType": "product", "images": [image_file()], "promptHelper": "matte"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["visual_dna"]["dna_type"] == "product"
    assert VisualDNA.objects.get(name="Hero").prompt_helper == "matte"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"dna_type": "style"}, "MISSING_FIELDS"),
        ({"name": "x" * 101, "dna_type": "style"}, "INVALID_FIELDS"),
        ({"name": "n", "dna_type": "vehicle"}, "INVALID_FIELDS"),
        ({"name": "n"}, "MISSING_FIELDS"),
    ],
)
def test_bad_visual_dna_fields_are_refused(api, team, fields, code):
    response = api.post("/api/v1/visual-dna", {**fields, "images": [image_file()]})
    assert response.status_code == 400 and response.json()["code"] == code
    assert not VisualDNA.objects.filter(team=team).exists() and team_files(team) == []


def test_a_visual_dna_takes_one_to_four_images(api, team):
    none = api.post("/api/v1/visual-dna", {"name": "n", "dna_type": "style"})
    assert none.status_code == 400 and "images" in none.json()["error"]
    five = api.post(
        "/api/v1/visual-dna",
        {"name": "n", "dna_type": "style", "images": [image_file(f"{i}.png") for i in range(5)]},
    )
    assert five.status_code == 400 and "1-4" in five.json()["error"]
    bad = api.post(
        "/api/v1/visual-dna",
        {
            "name": "n",
            "dna_type": "style",
            "images": [image_file(), SimpleUploadedFile("x.png", product_photo()[:3000])],
        },
    )
    assert bad.status_code == 400 and "images[1]" in bad.json()["error"]
    team.refresh_from_db()
    assert team_files(team) == [] and team.storage_used_bytes == 0


def test_global_visual_dnas_are_listed_for_everyone_and_cannot_be_deleted(api, team):
    body = api.get("/api/v1/visual-dna").json()
    assert body["count"] == len(body["visual_dnas"]) >= 2
    shared = VisualDNA.objects.filter(team__isnull=True).first()
    detail = api.get(f"/api/v1/visual-dna/{shared.pk}").json()["visual_dna"]
    assert detail["is_global"] is True
    response = api.delete(f"/api/v1/visual-dna/{shared.pk}")
    assert response.status_code == 403 and response.json()["code"] == "FORBIDDEN"
    assert VisualDNA.objects.filter(pk=shared.pk).exists()


def test_deleting_a_visual_dna_removes_its_files_and_frees_the_storage(
    api, team, django_capture_on_commit_callbacks
):
    dna_id = api.post(
        "/api/v1/visual-dna", {"name": "Gone", "dna_type": "style", "images": [image_file()]}
    ).json()["visual_dna"]["id"]
    assert team_files(team)
    with django_capture_on_commit_callbacks(execute=True):  # files go once the delete commits
        response = api.delete(f"/api/v1/visual-dna/{dna_id}")
    assert response.status_code == 200 and response.json()["success"] is True
    assert "message" in response.json()
    team.refresh_from_db()
    assert team_files(team) == [] and team.storage_used_bytes == 0
    assert not CatalogImage.objects.filter(team=team).exists()


def test_another_teams_visual_dna_is_invisible(api, team, other_team, charlie):
    theirs = services.create_visual_dna(
        other_team, charlie, name="Theirs", dna_type="style",
        uploads=[services.check_upload(png_bytes())],
    )  # fmt: skip
    assert api.get(f"/api/v1/visual-dna/{theirs.pk}").status_code == 404
    assert api.delete(f"/api/v1/visual-dna/{theirs.pk}").status_code == 404
    names = [d["name"] for d in api.get("/api/v1/visual-dna").json()["visual_dnas"]]
    assert "Theirs" not in names
    assert VisualDNA.objects.filter(pk=theirs.pk).exists()


def test_moodboards_list_personal_and_preset_scopes(api, team):
    board = services.create_moodboard(
        team, None, name="Mine", uploads=[services.check_upload(png_bytes())], style_guide="moody"
    )
    everything = api.get("/api/v1/moodboards").json()
    personal = api.get("/api/v1/moodboards?scope=personal").json()
    presets = api.get("/api/v1/moodboards?scope=preset").json()
    assert [b["id"] for b in personal["moodboards"]] == [str(board.pk)]
    assert presets["count"] >= 3 and all(b["scope"] == "preset" for b in presets["moodboards"])
    assert everything["count"] == personal["count"] + presets["count"]
    first = presets["moodboards"][0]
    assert set(first) >= {"id", "name", "master_prompt", "thumbnail_url", "images"}
    assert len(first["images"]) == 3
    assert api.get("/api/v1/moodboards?scope=team").status_code == 400


def test_a_preset_moodboards_images_are_served_by_their_signed_links(api, team):
    preset = api.get("/api/v1/moodboards?scope=preset").json()["moodboards"][0]
    path = "/" + preset["thumbnail_url"].split("://", 1)[1].split("/", 1)[1]
    response = Client().get(path)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    tampered = path.replace("&s=", "&s=x")
    assert Client().get(tampered).status_code == 404


def test_a_moodboard_is_created_from_image_urls_and_has_a_style_guide(api, team, settings):
    settings.STUDIO_ALLOW_PRIVATE_FETCH = True
    server = LoopbackServer(lambda r: Response(200, png_bytes(colour=(200, 30, 35)), "image/png"))
    server.start()
    data_url = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    try:
        response = api.post(
            "/api/v1/moodboards",
            {
                "name": "Red and blue",
                "images": [
                    {"type": "url", "url": f"{server.url}/a.png"},
                    {"type": "url", "url": data_url},
                ],
                "style_guide": "Bold primaries, hard light.",
            },
            content_type="application/json",
        )
    finally:
        server.stop()
    assert response.status_code == 200, response.content
    board = response.json()["moodboard"]
    assert board["style_guide"] == "Bold primaries, hard light."
    assert len(board["images"]) == 2 and board["scope"] == "personal"
    assert "red" in board["master_prompt"]
    got = api.get(f"/api/v1/moodboards/{board['id']}").json()["moodboard"]
    assert got["style_guide"] == "Bold primaries, hard light."


def test_a_moodboard_takes_one_to_fifteen_images(api, team):
    url = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    for images in ([], [{"type": "url", "url": url}] * 16):
        response = api.post(
            "/api/v1/moodboards", {"name": "n", "images": images}, content_type="application/json"
        )
        assert response.status_code == 400, response.content
    assert not Moodboard.objects.filter(team=team).exists()


def test_a_moodboard_image_on_a_private_address_is_refused(api, team, settings):
    settings.STUDIO_ALLOW_PRIVATE_FETCH = False
    response = api.post(
        "/api/v1/moodboards",
        {"name": "n", "images": [{"type": "url", "url": "http://127.0.0.1:9/a.png"}]},
        content_type="application/json",
    )
    assert response.status_code == 400 and "private" in response.json()["error"]
    assert not Moodboard.objects.filter(team=team).exists() and team_files(team) == []


def test_another_teams_moodboard_is_invisible(api, team, other_team, charlie):
    theirs = services.create_moodboard(
        other_team, charlie, name="Theirs", uploads=[services.check_upload(png_bytes())]
    )
    assert api.get(f"/api/v1/moodboards/{theirs.pk}").status_code == 404
    names = [b["name"] for b in api.get("/api/v1/moodboards").json()["moodboards"]]
    assert "Theirs" not in names


def test_lists_read_a_fixed_number_of_queries(api, team, django_assert_max_num_queries):
    for i in range(4):
        services.create_moodboard(
            team, None, name=f"B{i}", uploads=[services.check_upload(png_bytes())]
        )
        services.create_visual_dna(
            team, None, name=f"D{i}", dna_type="style",
            uploads=[services.check_upload(png_bytes())],
        )  # fmt: skip
    for path in ("/api/v1/moodboards", "/api/v1/visual-dna"):
        with django_assert_max_num_queries(10):
            assert api.get(path).status_code == 200
