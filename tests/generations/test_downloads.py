"""Results people can work with: downloads named after the prompt, zips of a batch or a pick."""

from __future__ import annotations

import io
import re
import zipfile

from django.urls import reverse

from generations.models import Generation
from tests.generations.helpers import run, start


def _finished(team, user, prompt="A red kite over green hills!", count=2) -> Generation:
    return run(start(team, user, "image", {"prompt": prompt, "count": count}))


def _download_links(page: str) -> list[str]:
    return [u.replace("&amp;", "&") for u in re.findall(r'href="([^"]+download=1)"', page)]


def test_a_download_is_named_after_the_prompt_the_job_and_its_number(
    funded_team, alice, alice_client
):
    job = _finished(funded_team, alice)
    page = alice_client.get(reverse("gallery_detail", args=[funded_team.uuid, job.uuid]))
    links = _download_links(page.content.decode())
    assert len(links) == 2
    short = str(job.uuid)[:8]
    for n, link in enumerate(links, start=1):
        response = alice_client.get(link)
        assert response.status_code == 200
        assert (
            response["Content-Disposition"]
            == f'attachment; filename="a-red-kite-over-green-hills-{short}-{n}.png"'
        )


def test_a_batch_downloads_as_one_zip_with_meaningful_names(funded_team, alice, alice_client):
    job = _finished(funded_team, alice, count=3)
    page = alice_client.get(reverse("gallery_detail", args=[funded_team.uuid, job.uuid]))
    zip_url = reverse("gallery_generation_zip", args=[funded_team.uuid, job.uuid])
    assert zip_url in page.content.decode()
    response = alice_client.get(zip_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    short = str(job.uuid)[:8]
    assert f'filename="a-red-kite-over-green-hills-{short}.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == [f"a-red-kite-over-green-hills-{short}-{n}.png" for n in (1, 2, 3)]
    assert all(archive.read(name).startswith(b"\x89PNG") for name in archive.namelist())


def test_a_gallery_selection_downloads_as_one_zip_and_ignores_other_teams(
    funded_team, other_team, alice, charlie, alice_client
):
    from studio.accounts import credits

    first = _finished(funded_team, alice, prompt="first", count=1)
    second = _finished(funded_team, alice, prompt="second", count=2)
    credits.grant(other_team, 1000)
    foreign = _finished(other_team, charlie, prompt="foreign", count=1)
    gallery = alice_client.get(reverse("gallery", args=[funded_team.uuid])).content.decode()
    assert gallery.count('data-testid="tile-pick"') == 2
    response = alice_client.post(
        reverse("gallery_zip", args=[funded_team.uuid]),
        {"g": [str(first.uuid), str(second.uuid), str(foreign.uuid), "not-a-uuid"]},
    )
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert sorted(n.split("-")[0] for n in names) == ["first", "second", "second"]


def test_an_empty_selection_explains_itself(funded_team, alice_client):
    response = alice_client.post(reverse("gallery_zip", args=[funded_team.uuid]), follow=True)
    assert "Pick finished results to download." in response.content.decode()


def test_outsiders_cannot_zip_a_teams_results(funded_team, alice, charlie_client):
    job = _finished(funded_team, alice, count=1)
    url = reverse("gallery_generation_zip", args=[funded_team.uuid, job.uuid])
    assert charlie_client.get(url).status_code == 404
    zip_all = reverse("gallery_zip", args=[funded_team.uuid])
    assert charlie_client.post(zip_all, {"g": [str(job.uuid)]}).status_code == 404
