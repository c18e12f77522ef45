"""A job's detail page names the catalog objects and results it used, with links."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from generations.models import Generation
from studio import media
from tests.catalog.test_pages import make_product
from tests.generations.helpers import run, start

pytestmark = pytest.mark.django_db


def test_parameters_show_names_and_links_instead_of_raw_ids(funded_team, alice, alice_client):
    product = make_product(funded_team, name="Tan Wallet")
    source = run(start(funded_team, alice, "image", {"prompt": "a tan wallet on oak"}))
    asset = source.assets.get()
    reference = media.OwnLink(media.ASSET_LINKS, str(asset.uuid), "file").reference
    job = run(start(funded_team, alice, "image", {"prompt": "the wallet on marble"}))
    gone = str(uuid.uuid4())
    Generation.objects.filter(pk=job.pk).update(
        params={
            **job.params,
            "product_ids": [str(product.pk), gone],
            "reference_images": [reference],
            "duration": 8,
        }
    )
    page = alice_client.get(reverse("gallery_detail", args=[funded_team.uuid, job.uuid]))
    body = page.content.decode().split('data-testid="parameters"', 1)[1].split("</dl>", 1)[0]
    product_url = reverse("catalog_product", args=[funded_team.uuid, product.pk])
    assert f'<a href="{product_url}">Tan Wallet</a>' in body
    assert "(deleted)" in body and gone not in body
    source_url = reverse("gallery_detail", args=[funded_team.uuid, source.uuid])
    assert f'<a href="{source_url}">Result: a tan wallet on oak</a>' in body
    assert "studio-asset:" not in body
    assert ">8 s</dd>" in body
