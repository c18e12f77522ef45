"""Ads: the product's cut-out in a scene, the copy set on it legibly, a text-free copy of
every image kept for re-editing, copy that names the product, charged 40 per image and
refunded once when the render fails."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from catalog import services as catalog
from generations import engine
from generations.ads import compose, copywriter, services, styles
from generations.ads.styles import get_style
from generations.extensions import ProductFacts
from generations.models import AssetRole, Generation, GenerationState
from studio.accounts.models import LedgerEntry, LedgerKind
from studio.errors import NotFound
from tests.catalog.conftest import PRODUCT_RGB, product_photo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rule_copy_only")]

BRIEF = "Create a direct response ad for this protein bar"


def analysed_product(team, name: str = "Day Shift Protein Bar by Vysionary"):
    product = catalog.create_product(
        team, None, catalog.check_upload(product_photo()), name=name, enqueue=False
    )
    return catalog.analyse_product(product.pk)


def make_ad(team, user, product, **raw) -> Generation:
    body = {"brief": BRIEF, "product_ids": [str(product.pk)], **raw}
    generation = services.start_ad(team, user, body, source="dashboard").generation
    engine.submit(generation.pk)
    generation.refresh_from_db()
    return generation


def pixels(field) -> np.ndarray:
    with field.open("rb") as handle, Image.open(handle) as picture:
        return np.asarray(picture.convert("RGB")).astype(int)


def share_of(colour, image: np.ndarray) -> float:
    return float((np.abs(image - np.array(colour)).max(axis=2) < 40).mean())


def test_an_ad_shows_the_product_with_its_copy_set_on_a_text_free_copy(funded_team, alice):
    product = analysed_product(funded_team)
    ad = make_ad(funded_team, alice, product, aspect_ratio="4:5", count=2)
    assert ad.state == GenerationState.SUCCEEDED, ad.error
    assert ad.credits_charged == 80 and ad.credits_refunded == 0
    pairs = services.variant_assets(ad)
    assert len(pairs) == 2
    meta = ad.result_meta["ad"]
    copy = meta["ad_copy"]
    assert "Day Shift" in f"{copy['hook']} {copy['headline']} {copy['body_copy']}"
    assert copy["style_name"] == "Performance Master" and meta["copy_source"] == "rules"
    for index, (finished, plain) in enumerate(pairs):
        assert plain is not None and plain.role == AssetRole.PLAIN
        with_text, without = pixels(finished.file), pixels(plain.file)
        assert with_text.shape == without.shape
        # The product's own colour is in the picture.
        assert share_of(PRODUCT_RGB, without) > 0.02
        # The headline is where the text layer put it: there the ad differs from the plain.
        x0, y0, x1, y1 = meta["variants"][index]["blocks"]["headline"]["box"]
        changed = np.abs(with_text[y0:y1, x0:x1] - without[y0:y1, x0:x1]).max(axis=2) > 60
        assert changed.mean() > 0.04
        # ...and re-setting the same copy on the plain image gives the stored ad back.
        again, _ = compose.compose(
            Image.fromarray(without.astype(np.uint8)),
            copywriter.AdCopy.from_dict(copy),
            get_style("performance"),
            "4:5",
            index,
            tuple(int(meta["accent"][i : i + 2], 16) for i in (1, 3, 5)),
        )
        assert np.abs(np.asarray(again).astype(int) - with_text).max() <= 1


def test_every_line_of_copy_reaches_wcag_contrast_in_every_style(funded_team, alice):
    product = analysed_product(funded_team)
    for style in styles.STYLES:
        for seed, ratio in ((1, "1:1"), (2, "4:5"), (3, "9:16")):
            ad = make_ad(
                funded_team, alice, product, style_id=style.id, aspect_ratio=ratio, seed=seed
            )
            assert ad.state == GenerationState.SUCCEEDED, (style.id, ad.error)
            blocks = ad.result_meta["ad"]["variants"][0]["blocks"]
            assert {"headline", "cta"} <= set(blocks), style.id
            for role, block in blocks.items():
                assert block["contrast"] >= compose.MIN_CONTRAST, (style.id, seed, role, block)


def test_aspect_ratios_give_ads_of_their_shape(funded_team, alice):
    product = analysed_product(funded_team)
    for ratio, (w, h) in {"1:1": (1, 1), "4:5": (4, 5), "9:16": (9, 16)}.items():
        ad = make_ad(funded_team, alice, product, aspect_ratio=ratio)
        finished, plain = services.variant_assets(ad)[0]
        assert max(finished.width, finished.height) == 1024
        assert abs(finished.width / finished.height - w / h) < 0.01, ratio
        assert (plain.width, plain.height) == (finished.width, finished.height)


def test_the_brand_colour_named_in_the_brand_notes_fills_the_cta(funded_team, alice):
    product = analysed_product(funded_team)
    ad = make_ad(funded_team, alice, product, brand_context="Our brand colour is #0f9d58.")
    assert ad.result_meta["ad"]["accent"] == "#0f9d58"
    finished, _ = services.variant_assets(ad)[0]
    x0, y0, x1, y1 = ad.result_meta["ad"]["variants"][0]["blocks"]["cta"]["box"]
    button = pixels(finished.file)[y0:y1, x0:x1]
    fill, _ = compose.readable_on((0x0F, 0x9D, 0x58))
    assert share_of(fill, button) > 0.4
    assert compose.brand_colour("navy and gold packaging") == (0, 0, 128)


def test_an_inspiration_image_gives_the_ad_its_palette(funded_team, alice):
    import base64
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (200, 250), (230, 120, 20)).save(buffer, "PNG")
    inspiration = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    product = analysed_product(funded_team)
    plain_ad = make_ad(funded_team, alice, product, seed=7)
    inspired = make_ad(funded_team, alice, product, seed=7, inspiration_image=inspiration)
    assert inspired.state == GenerationState.SUCCEEDED, inspired.error

    def orange(generation) -> float:
        return share_of((230, 120, 20), pixels(services.variant_assets(generation)[0][1].file))

    assert orange(inspired) > orange(plain_ad) + 0.05


def test_the_rule_copywriter_names_the_product_and_is_the_same_for_the_same_input():
    facts = [
        ProductFacts(
            id="p1",
            name="Day Shift by Vysionary",
            brand_name="Vysionary",
            product_name="Day Shift",
            product_type="supplement",
            colors=("black", "gold"),
            materials=("plastic bottle",),
        )
    ]
    for style in styles.STYLES:
        copy = copywriter.rule_copy("An ad for busy parents, 20% off this week", facts, style)
        text = " ".join([copy.hook, copy.headline, copy.body_copy, copy.cta])
        assert "Day Shift" in text, style.id
        assert "lorem" not in text.lower() and "{" not in text and copy.cta
        assert copy == copywriter.rule_copy(
            "An ad for busy parents, 20% off this week", facts, style
        )
    offer = copywriter.rule_copy("20% off for busy parents", facts, get_style("offer"))
    assert "20% off" in offer.hook + offer.headline


def test_editing_the_copy_re_sets_the_text_without_a_new_charge(funded_team, alice):
    product = analysed_product(funded_team)
    ad = make_ad(funded_team, alice, product)
    funded_team.refresh_from_db()
    balance = funded_team.total_credits
    finished, plain = services.variant_assets(ad)[0]
    before = pixels(finished.file)
    edited = services.edit_ad_copy(ad, 0, {"headline": "Fuel for the night shift too"})
    after = pixels(edited.file)
    assert not np.array_equal(before, after)
    ad.refresh_from_db()
    assert ad.result_meta["ad"]["variants"][0]["copy"]["headline"] == (
        "Fuel for the night shift too"
    )
    funded_team.refresh_from_db()
    assert funded_team.total_credits == balance
    assert LedgerEntry.objects.filter(kind=LedgerKind.DEBIT).count() == 1
    # The text-free image is untouched, and an empty headline is refused.
    assert np.array_equal(pixels(plain.file), pixels(services.variant_assets(ad)[0][1].file))
    with pytest.raises(Exception, match="headline"):
        services.edit_ad_copy(ad, 0, {"headline": " "})


def test_a_failing_render_refunds_the_ad_once(funded_team, alice, monkeypatch):
    from generations.ads import render

    def broken(*args, **kwargs):
        raise RuntimeError("the renderer broke")

    monkeypatch.setattr(render, "place_products", broken)
    product = analysed_product(funded_team)
    funded_team.refresh_from_db()
    balance = funded_team.total_credits
    ad = make_ad(funded_team, alice, product, count=2)
    assert ad.state == GenerationState.FAILED
    assert ad.credits_charged == 80 and ad.credits_refunded == 80
    engine.fail(ad.pk, engine.Failure("again"))  # a second failure refunds nothing more
    funded_team.refresh_from_db()
    assert funded_team.total_credits == balance
    assert LedgerEntry.objects.filter(kind=LedgerKind.REFUND).count() == 1


def test_another_teams_product_is_not_found_and_nothing_is_charged(funded_team, alice, other_team):
    theirs = analysed_product(other_team)
    with pytest.raises(NotFound):
        services.start_ad(
            funded_team, alice, {"brief": BRIEF, "product_ids": [str(theirs.pk)]}, source="api"
        )
    assert not Generation.objects.exists()
    assert not LedgerEntry.objects.filter(kind=LedgerKind.DEBIT).exists()
