"""The offline background removal on the kinds of photo people upload."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from catalog.images import cut_out, dominant_colours
from studio import cutout
from tests.catalog.photos import iou, product_photo

PRODUCT = (214, 22, 160)


def alpha_of(image: Image.Image) -> np.ndarray:
    cutout, _ = cut_out(image)
    return np.asarray(cutout)[:, :, 3]


def test_a_product_on_a_plain_backdrop_is_cut_out_with_its_shadow_removed():
    image = Image.new("RGB", (400, 300), (236, 236, 232))
    shadow = Image.new("L", image.size, 0)
    ImageDraw.Draw(shadow).ellipse((120, 235, 280, 262), fill=110)
    image.paste((150, 150, 148), mask=shadow.filter(ImageFilter.GaussianBlur(8)))  # soft shadow
    ImageDraw.Draw(image).rectangle((160, 60, 240, 250), fill=PRODUCT)
    alpha = alpha_of(image)
    assert alpha[150, 200] == 255
    assert alpha[10, 10] == 0 and alpha[290, 390] == 0
    assert alpha[255, 135] == 0  # the shadow, left of the product, is backdrop
    assert (alpha > 128).mean() < 0.2


def test_a_product_touching_the_bottom_edge_keeps_its_base():
    image = Image.new("RGB", (400, 300), (240, 240, 240))
    ImageDraw.Draw(image).rectangle((150, 80, 250, 299), fill=PRODUCT)
    alpha = alpha_of(image)
    assert alpha[297, 200] == 255  # the base, on the frame's edge
    assert alpha[297, 20] == 0


def test_a_product_on_a_busy_background_is_still_separated():
    rng = np.random.default_rng(3)
    noise = rng.integers(40, 200, (300, 400, 3), dtype=np.uint8)
    image = Image.fromarray(noise, "RGB").resize((400, 300), Image.Resampling.NEAREST)
    ImageDraw.Draw(image).rectangle((150, 70, 250, 230), fill=PRODUCT)
    alpha = alpha_of(image)
    assert alpha[150, 200] == 255
    assert alpha[5, 5] == 0 and alpha[295, 395] == 0
    assert (alpha > 128).mean() < 0.5


def test_a_png_that_is_already_a_cutout_is_kept_as_it_is():
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((50, 50, 150, 150), fill=(*PRODUCT, 255))
    alpha = alpha_of(image)
    assert alpha[100, 100] == 255 and alpha[5, 5] == 0


def test_colours_are_named_from_the_opaque_pixels_only():
    image = Image.new("RGBA", (100, 100), (255, 255, 255, 0))
    ImageDraw.Draw(image).rectangle((20, 20, 80, 80), fill=(25, 35, 90, 255))
    names = [c["name"] for c in dominant_colours(image)]
    assert names == ["navy"]


def test_the_neural_cut_out_separates_a_bottle_from_a_cluttered_room():
    # A known mask on a busy background: U²-Net-p's cut-out matches it; GrabCut's does not.
    photo, truth = product_photo("busy", "bottle", seed=0)
    assert cutout.neural_available()
    cut, share = cut_out(photo)
    alpha = np.asarray(cut)[:, :, 3]
    assert iou(alpha, truth) > 0.9
    assert abs(share - truth.mean()) < 0.05
    assert iou(cutout.grabcut_alpha(photo), truth) < iou(alpha, truth)


def test_without_onnxruntime_the_cut_out_falls_back_to_grabcut(monkeypatch):
    monkeypatch.setattr(cutout, "_model_path", lambda: None)
    photo, truth = product_photo("plain", "mug", seed=1)
    assert not cutout.neural_available()
    cut, _ = cut_out(photo)
    assert iou(np.asarray(cut)[:, :, 3], truth) > 0.8


def test_the_model_is_loaded_once_per_process():
    photo, _ = product_photo("plain", "bottle", seed=2)
    cut_out(photo)
    first = cutout._session()
    cut_out(photo)
    assert cutout._session() is first and cutout._session.cache_info().currsize == 1
