"""The Ads page: a member makes an ad from products and a style, sees its variants with
their copy, edits the copy and re-sets the text for free; outsiders get 404, viewers 403."""

from __future__ import annotations

import pytest
from django.urls import reverse

from generations import engine
from generations.ads import services
from generations.models import Generation, GenerationState, GenerationType
from studio.accounts.models import LedgerEntry, LedgerKind
from tests.generations.test_ads import BRIEF, analysed_product

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rule_copy_only", "small_renders")]


def finished_ad(team, user) -> Generation:
    product = analysed_product(team)
    generation = services.start_ad(
        team, user, {"brief": BRIEF, "product_ids": [str(product.pk)], "count": 2}, source="api"
    ).generation
    engine.submit(generation.pk)
    generation.refresh_from_db()
    assert generation.state == GenerationState.SUCCEEDED, generation.error
    return generation


def test_the_ads_page_offers_products_styles_and_a_cost_and_says_when_there_are_none(
    alice_client, funded_team
):
    page = alice_client.get(reverse("ads", args=[funded_team.uuid]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="ads-no-products"' in html and 'data-testid="ads-empty"' in html
    assert "Performance Master" in html and "Feature Callout" in html
    assert "Ads" in html and reverse("ads", args=[funded_team.uuid]) in html  # in the nav
    analysed_product(funded_team)
    html = alice_client.get(reverse("ads", args=[funded_team.uuid])).content.decode()
    assert 'data-testid="ad-product"' in html
    cost = alice_client.get(reverse("ads_cost", args=[funded_team.uuid]), {"count": "4"})
    assert 'data-testid="cost-credits">160<' in cost.content.decode()


def test_a_member_makes_an_ad_from_the_page(bob_client, funded_team):
    product = analysed_product(funded_team)
    response = bob_client.post(
        reverse("ads", args=[funded_team.uuid]),
        {
            "product_ids": [str(product.pk)],
            "style_id": "testimonial",
            "brief": BRIEF,
            "aspect_ratio": "1:1",
            "count": "2",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'data-testid="ad-card"' in response.content.decode()
    ad = Generation.objects.get(type=GenerationType.AD)
    assert ad.params["style_id"] == "testimonial" and ad.credits_charged == 80
    engine.submit(ad.pk)
    card = bob_client.get(reverse("ads_card", args=[funded_team.uuid, ad.uuid]))
    assert card.status_code == 286  # finished: the card stops polling
    html = card.content.decode()
    assert html.count('data-testid="ad-variant"') == 2 and "Why customers love" in html


def test_a_form_without_products_says_what_is_missing(alice_client, funded_team):
    response = alice_client.post(
        reverse("ads", args=[funded_team.uuid]), {"brief": BRIEF, "count": "1"}
    )
    assert response.status_code == 400
    assert "Pick at least one product" in response.content.decode()
    assert not Generation.objects.exists()


def test_editing_an_ads_copy_on_the_page_re_sets_the_text_for_free(
    alice_client, funded_team, alice
):
    ad = finished_ad(funded_team, alice)
    before = services.variant_assets(ad)[1][0].file.name
    prefix = f"{ad.uuid}-1"
    response = alice_client.post(
        reverse("ads_copy", args=[funded_team.uuid, ad.uuid, 1]),
        {
            f"{prefix}-hook": "New this month",
            f"{prefix}-headline": "Night Shift energy, by day",
            f"{prefix}-body_copy": "",
            f"{prefix}-cta": "Order today",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="copy-saved"' in html and "Night Shift energy, by day" in html
    ad.refresh_from_db()
    assert services.variant_assets(ad)[1][0].file.name != before
    assert ad.result_meta["ad"]["variants"][1]["copy"]["cta"] == "Order today"
    assert ad.result_meta["ad"]["variants"][0]["copy"]["cta"] != "Order today"
    assert LedgerEntry.objects.filter(kind=LedgerKind.DEBIT).count() == 1


def test_outsiders_get_404_and_viewers_403_on_the_ads_pages(
    charlie_client, vera_client, funded_team, alice
):
    ad = finished_ad(funded_team, alice)
    reads = [
        reverse("ads", args=[funded_team.uuid]),
        reverse("ads_cost", args=[funded_team.uuid]),
        reverse("ads_card", args=[funded_team.uuid, ad.uuid]),
    ]
    writes = [
        reverse("ads", args=[funded_team.uuid]),
        reverse("ads_copy", args=[funded_team.uuid, ad.uuid, 0]),
    ]
    for url in reads:
        assert charlie_client.get(url).status_code == 404, url
        assert vera_client.get(url).status_code in (200, 286), url
    for url in writes:
        assert charlie_client.post(url, {}).status_code == 404, url
        assert vera_client.post(url, {}).status_code == 403, url


def test_a_private_inspiration_link_is_refused_next_to_its_field(alice_client, funded_team):
    product = analysed_product(funded_team)
    response = alice_client.post(
        reverse("ads", args=[funded_team.uuid]),
        {
            "product_ids": [str(product.pk)],
            "style_id": "minimal",
            "brief": BRIEF,
            "inspiration_image": "http://127.0.0.1/ad.png",
            "aspect_ratio": "4:5",
            "count": "1",
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors.get("inspiration_image"), form.errors
    assert not Generation.objects.exists()


def test_a_viewer_sees_finished_ads_without_the_re_set_button(vera_client, funded_team, alice):
    ad = finished_ad(funded_team, alice)
    html = vera_client.get(reverse("ads", args=[funded_team.uuid])).content.decode()
    assert html.count('data-testid="ad-variant"') == 2
    assert 'data-testid="reset-text"' not in html and 'data-testid="download-ad"' in html
    card = vera_client.get(reverse("ads_card", args=[funded_team.uuid, ad.uuid]))
    assert 'data-testid="reset-text"' not in card.content.decode()


def test_an_ad_shows_in_the_gallery_with_its_finished_images_only(alice_client, funded_team, alice):
    ad = finished_ad(funded_team, alice)
    gallery = alice_client.get(reverse("gallery", args=[funded_team.uuid]))
    assert gallery.status_code == 200
    detail = alice_client.get(reverse("gallery_detail", args=[funded_team.uuid, ad.uuid]))
    assert detail.status_code == 200
    html = detail.content.decode()
    finished = [str(a.uuid) for a, _ in services.variant_assets(ad)]
    plain = [str(p.uuid) for _, p in services.variant_assets(ad)]
    assert all(uuid in html for uuid in finished)
    assert not any(uuid in html for uuid in plain)
