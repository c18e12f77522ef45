"""A media link answers any Range header without a 500: served, 416, or ignored."""

from __future__ import annotations

import pytest
from django.test import Client

from generations import assets
from tests.generations.helpers import run, start


@pytest.fixture
def media_link(funded_team, alice) -> tuple[str, int]:
    generation = run(start(funded_team, alice, "image", {"prompt": "a cat"}))
    asset = generation.assets.get()
    return assets.signed_path(str(asset.uuid), "file", "0.png"), asset.size_bytes


@pytest.mark.parametrize(
    "header",
    [
        "bytes=" + "9" * 5000 + "-",
        "bytes=0-" + "9" * 5000,
        "bytes=-" + "9" * 5000,
        "bytes=5-2",
        "bytes=abc-",
        "bytes=0-1,4-5",
        "items=0-1",
        "bytes=\x00-1",
    ],
)
def test_a_malformed_range_is_never_a_server_error(media_link, header):
    path, size = media_link
    response = Client().get(path, headers={"Range": header})
    assert response.status_code in (200, 206, 416)
    if response.status_code == 200:
        assert int(response["Content-Length"]) == size


def test_a_valid_range_is_still_served(media_link):
    path, size = media_link
    response = Client().get(path, headers={"Range": "bytes=0-9"})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 0-9/{size}"
