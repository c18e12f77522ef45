"""Stored media is read only through Django's storage API: a store without local paths works.

Django's InMemoryStorage keeps files in memory: their `.path` names a place on disk where
nothing is. A generation stored there, used as another job's input, served with ranges and
deleted, with that place never created, shows that no code reads media from the disk.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from generations import services
from generations.assets import asset_urls
from generations.models import GenerationState
from tests.generations.helpers import run, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def pathless_storage(settings, tmp_path):
    nowhere = tmp_path / "nowhere"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.InMemoryStorage",
            "OPTIONS": {"location": str(nowhere)},
        },
    }
    yield
    assert not nowhere.exists()


def get(url: str, **headers: str):
    parts = urlsplit(url)
    return Client().get(f"{parts.path}?{parts.query}", headers=headers)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_media_without_a_local_path_is_stored_served_in_ranges_and_deleted(
    pathless_storage, funded_team, alice
):
    image = run(start(funded_team, alice, "image", {"prompt": "a lighthouse"}))
    link = asset_urls(image.assets.get())["url"]
    # Read back as another job's input, through the same storage.
    video = run(start(funded_team, alice, "video_from_image", {"image_url": link, "duration": 4}))
    assert video.state == GenerationState.SUCCEEDED, video.error
    asset = video.assets.get()
    with default_storage.open(asset.file.name) as handle:
        stored = handle.read()

    whole = get(asset_urls(asset)["url"])
    assert whole.status_code == 200 and body(whole) == stored
    assert whole["Content-Length"] == str(len(stored)) and whole["Content-Type"] == "video/mp4"
    first = get(asset_urls(asset)["url"], Range="bytes=0-99")
    assert first.status_code == 206 and body(first) == stored[:100]
    assert first["Content-Range"] == f"bytes 0-99/{len(stored)}"
    last = get(asset_urls(asset)["url"], Range="bytes=-50")
    assert last.status_code == 206 and body(last) == stored[-50:]
    beyond = get(asset_urls(asset)["url"], Range=f"bytes={len(stored)}-")
    assert beyond.status_code == 416

    names = [asset.file.name, asset.thumbnail.name]
    services.delete_generation(video)
    assert not any(default_storage.exists(name) for name in names)


def test_a_link_to_a_file_that_is_gone_is_a_404(pathless_storage, funded_team, alice):
    generation = run(start(funded_team, alice, "sound", {"prompt": "rain", "duration": 1}))
    asset = generation.assets.get()
    default_storage.delete(asset.file.name)
    assert get(asset_urls(asset)["url"]).status_code == 404
