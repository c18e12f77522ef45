"""Catalog pages: members work, viewers look (403 on every write), outsiders get 404."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog import services
from catalog.models import AnalysisStatus, Moodboard, Product, ProductSource, VisualDNA
from generations.models import Generation
from tests.catalog.conftest import png_bytes, product_photo, team_files

pytestmark = pytest.mark.django_db


def make_product(team, name="Tan Wallet", category="accessories") -> Product:
    product = services.create_product(
        team, None, services.check_upload(product_photo()), name=name, enqueue=False
    )
    services.analyse_product(product.pk)
    Product.objects.filter(pk=product.pk).update(category=category)
    return Product.objects.get(pk=product.pk)


@pytest.fixture
def product(team) -> Product:
    return make_product(team)


def urls(team, product=None, dna=None, board=None) -> list[str]:
    pages = [
        reverse("catalog", args=[team.uuid]),
        reverse("catalog_dna", args=[team.uuid]),
        reverse("catalog_moodboards", args=[team.uuid]),
    ]
    if product:
        pages += [
            reverse("catalog_product", args=[team.uuid, product.pk]),
            reverse("catalog_poll", args=[team.uuid]) + f"?p={product.pk}",
        ]
    if dna:
        pages.append(reverse("catalog_dna_detail", args=[team.uuid, dna.pk]))
    if board:
        pages.append(reverse("catalog_moodboard_detail", args=[team.uuid, board.pk]))
    return pages


@pytest.fixture
def everything(team, product):
    dna = services.create_visual_dna(
        team, None, name="Mascot", dna_type="character",
        uploads=[services.check_upload(png_bytes())],
    )  # fmt: skip
    board = services.create_moodboard(
        team, None, name="Mine", uploads=[services.check_upload(png_bytes())]
    )
    return {"product": product, "dna": dna, "board": board}


def test_every_catalog_page_works_for_members_and_viewers(
    team, everything, alice_client, bob_client, vera_client
):
    for client in (alice_client, bob_client, vera_client):
        for url in urls(team, **everything):
            response = client.get(url)
            assert response.status_code in (200, 286), url


def test_outsiders_get_404_on_every_catalog_page_and_write(team, everything, charlie_client):
    product, dna, board = everything["product"], everything["dna"], everything["board"]
    for url in urls(team, **everything):
        assert charlie_client.get(url).status_code == 404, url
    writes = [
        reverse("catalog", args=[team.uuid]),
        reverse("catalog_product", args=[team.uuid, product.pk]),
        reverse("catalog_product_delete", args=[team.uuid, product.pk]),
        reverse("catalog_product_retry", args=[team.uuid, product.pk]),
        reverse("catalog_dna", args=[team.uuid]),
        reverse("catalog_dna_delete", args=[team.uuid, dna.pk]),
        reverse("catalog_moodboards", args=[team.uuid]),
        reverse("catalog_moodboard_delete", args=[team.uuid, board.pk]),
    ]
    for url in writes:
        assert charlie_client.post(url, {"name": "x"}).status_code == 404, url
    assert Product.objects.filter(pk=product.pk).exists()


def test_another_teams_objects_are_404_inside_my_own_team(team, alice_client, other_team, charlie):
    theirs = make_product(other_team, "Theirs")
    their_board = services.create_moodboard(
        other_team, charlie, name="Theirs", uploads=[services.check_upload(png_bytes())]
    )
    assert (
        alice_client.get(reverse("catalog_product", args=[team.uuid, theirs.pk])).status_code == 404
    )
    url = reverse("catalog_moodboard_detail", args=[team.uuid, their_board.pk])
    assert alice_client.get(url).status_code == 404
    assert "Theirs" not in alice_client.get(reverse("catalog", args=[team.uuid])).content.decode()


def test_viewers_get_403_on_every_write(team, everything, vera_client):
    product, dna, board = everything["product"], everything["dna"], everything["board"]
    upload = SimpleUploadedFile("p.jpg", product_photo(), "image/jpeg")
    assert (
        vera_client.post(reverse("catalog", args=[team.uuid]), {"file": upload}).status_code == 403
    )
    for url in [
        reverse("catalog_product", args=[team.uuid, product.pk]),
        reverse("catalog_product_delete", args=[team.uuid, product.pk]),
        reverse("catalog_product_retry", args=[team.uuid, product.pk]),
        reverse("catalog_dna", args=[team.uuid]),
        reverse("catalog_dna_delete", args=[team.uuid, dna.pk]),
        reverse("catalog_moodboards", args=[team.uuid]),
        reverse("catalog_moodboard_delete", args=[team.uuid, board.pk]),
    ]:
        assert vera_client.post(url, {"name": "x"}).status_code == 403, url
    page = vera_client.get(reverse("catalog", args=[team.uuid])).content.decode()
    assert "data-dropzone" not in page
    assert Product.objects.count() == 1


def test_writes_need_the_csrf_token(team, alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    upload = SimpleUploadedFile("p.jpg", product_photo(), "image/jpeg")
    response = client.post(reverse("catalog", args=[team.uuid]), {"file": upload})
    assert response.status_code == 403
    assert not Product.objects.exists()


def test_a_dropped_file_becomes_an_analysed_product_card(
    team, alice_client, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("canvas-tote-bag.png", product_photo("PNG"), "image/png")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            reverse("catalog", args=[team.uuid]), {"file": upload}, HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 200
    product = Product.objects.get()
    assert product.source == ProductSource.DASHBOARD
    assert product.analysis_status == AnalysisStatus.DONE  # the task ran (synchronous cluster)
    assert product.name == "Canvas Tote Bag" and product.category == "bags"
    poll = alice_client.get(reverse("catalog_poll", args=[team.uuid]), {"p": str(product.pk)})
    assert poll.status_code == 286  # finished: the page stops polling
    assert b'data-status="done"' in poll.content and b'hx-swap-oob="true"' in poll.content
    assert b"hx-trigger" not in poll.content


def test_one_poll_serves_every_analysing_card_in_one_read(
    team, alice_client, django_assert_max_num_queries
):
    analysing = [
        services.create_product(team, None, services.check_upload(product_photo()), enqueue=False)
        for _ in range(5)
    ]
    page = alice_client.get(reverse("catalog", args=[team.uuid])).content.decode()
    assert page.count('class="analysing-id"') == 5
    assert 'data-polling="on"' in page and page.count("every 1s") == 1
    ids = [str(p.pk) for p in analysing]
    with django_assert_max_num_queries(6):  # session, user, membership, the cards
        poll = alice_client.get(reverse("catalog_poll", args=[team.uuid]), {"p": ids})
    assert poll.status_code == 200
    assert (
        poll.content.decode().count('hx-swap-oob="true"') == 5
    )  # the cards; the poller swaps itself
    assert b"Analysing" in poll.content and b"every 1s" in poll.content


def test_the_poll_shows_nothing_of_another_team(team, alice_client, other_team, charlie):
    theirs = services.create_product(
        other_team, charlie, services.check_upload(product_photo()), enqueue=False
    )
    poll = alice_client.get(reverse("catalog_poll", args=[team.uuid]), {"p": str(theirs.pk)})
    assert poll.status_code == 286 and str(theirs.pk).encode() not in poll.content


def test_bad_files_in_a_drop_are_reported_and_leave_nothing(team, alice_client):
    bad = SimpleUploadedFile("fake.jpg", b"not an image at all" * 10, "image/jpeg")
    response = alice_client.post(
        reverse("catalog", args=[team.uuid]), {"file": bad}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert b"fake.jpg" in response.content and b"upload-problems" in response.content
    assert not Product.objects.exists() and team_files(team) == []


def test_search_and_category_filter_the_grid(team, alice_client):
    make_product(team, "Leather Wallet", "accessories")
    make_product(team, "Canvas Tote", "bags")
    url = reverse("catalog", args=[team.uuid])
    page = alice_client.get(url, {"q": "tote"}).content.decode()
    assert "Canvas Tote" in page and "Leather Wallet" not in page
    page = alice_client.get(url, {"category": "accessories"}).content.decode()
    assert "Leather Wallet" in page and "Canvas Tote" not in page
    partial = alice_client.get(
        url, {"q": "zzz"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="product-grid"
    )
    assert b"No products match" in partial.content and b"<html" not in partial.content


def test_the_product_page_shows_original_and_cutout_and_saves_edits(team, product, alice_client):
    url = reverse("catalog_product", args=[team.uuid, product.pk])
    page = alice_client.get(url).content.decode()
    assert 'data-testid="product-original"' in page and 'data-testid="product-cutout"' in page
    assert "checker" in page
    assert 'name="metadata"' not in page  # fields, not a JSON textarea
    edited = ("colors", "brandName", "materials")
    kept = {k: v for k, v in product.metadata.items() if k not in edited}
    response = alice_client.post(
        url,
        {
            "name": "Renamed",
            "category": "wallets",
            "brand_name": "Vysionary",
            "product_name": product.metadata.get("productName", ""),
            "product_type": product.metadata.get("productType", ""),
            "colors": " tan,  dark brown ,",
            "materials": ", ".join(product.metadata.get("materials") or []),
        },
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.category) == ("Renamed", "wallets")
    assert product.metadata["brandName"] == "Vysionary"
    assert product.metadata["colors"] == ["tan", "dark brown"]
    assert {k: v for k, v in product.metadata.items() if k not in edited} == kept
    page = alice_client.get(url).content.decode()
    assert 'value="tan, dark brown"' in page and 'value="Vysionary"' in page
    cleared = alice_client.post(url, {"name": "Renamed", "brand_name": ""})
    assert cleared.status_code == 302
    product.refresh_from_db()
    assert "brandName" not in product.metadata


def test_deleting_a_product_removes_its_files_and_frees_storage(
    team, product, alice_client, django_capture_on_commit_callbacks
):
    assert team_files(team)
    with django_capture_on_commit_callbacks(execute=True):  # files go once the delete commits
        response = alice_client.post(
            reverse("catalog_product_delete", args=[team.uuid, product.pk])
        )
    assert response.status_code == 302
    team.refresh_from_db()
    assert not Product.objects.exists() and team_files(team) == []
    assert team.storage_used_bytes == 0


def test_visual_dna_and_moodboards_are_created_from_their_pages(team, alice_client):
    response = alice_client.post(
        reverse("catalog_dna", args=[team.uuid]),
        {
            "name": "Mascot",
            "dna_type": "character",
            "prompt_helper": "round",
            "images": [SimpleUploadedFile("a.png", png_bytes(), "image/png")],
        },
    )
    assert response.status_code == 302
    dna = VisualDNA.objects.get(team=team)
    assert dna.name == "Mascot" and dna.images.count() == 2  # the image and its thumbnail
    response = alice_client.post(
        reverse("catalog_moodboards", args=[team.uuid]),
        {
            "name": "Blue",
            "style_guide": "cool",
            "images": [SimpleUploadedFile("a.png", png_bytes(), "image/png")],
        },
    )
    assert response.status_code == 302
    assert Moodboard.objects.get(team=team).style_guide == "cool"
    missing = alice_client.post(
        reverse("catalog_dna", args=[team.uuid]), {"name": "x", "dna_type": "style"}
    )
    assert missing.status_code == 400 and b"images" in missing.content


def test_a_preset_moodboard_cannot_be_deleted_from_its_page(team, alice_client):
    preset = Moodboard.objects.filter(team__isnull=True).first()
    url = reverse("catalog_moodboard_delete", args=[team.uuid, preset.pk])
    response = alice_client.post(url, follow=True)
    assert b"cannot be deleted" in response.content
    assert Moodboard.objects.filter(pk=preset.pk).exists()


def test_the_studio_form_offers_the_catalog_and_starts_a_product_led_image(
    funded_team, alice_client, django_capture_on_commit_callbacks
):
    product = make_product(funded_team, "Magenta Bottle")
    board = Moodboard.objects.filter(team__isnull=True).first()
    studio = reverse("studio", args=[funded_team.uuid])
    page = alice_client.get(
        studio, {"type": "image", "product_id": str(product.pk)}
    ).content.decode()
    assert 'name="product_id"' in page and "Magenta Bottle" in page
    assert 'name="moodboard_id"' in page and 'name="preset_id"' in page
    assert f'value="{product.pk}" selected' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            studio,
            {
                "type": "image",
                "prompt": "on a marble table",
                "model": "auto",
                "count": "1",
                "aspect_ratio": "1:1",
                "product_id": str(product.pk),
                "preset_id": "luxury",
                "moodboard_id": str(board.pk),
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    generation = Generation.objects.get()
    assert generation.params["product_ids"] == [str(product.pk)]
    assert generation.params["preset_id"] == "luxury"
    assert generation.params["moodboard_id"] == str(board.pk)
    assert generation.state == "succeeded"


def test_the_studio_form_refuses_another_teams_product(funded_team, alice_client, other_team):
    theirs = make_product(other_team, "Theirs")
    response = alice_client.post(
        reverse("studio", args=[funded_team.uuid]),
        {"type": "image", "prompt": "x", "model": "auto", "product_id": str(theirs.pk)},
    )
    assert response.status_code == 400
    assert not Generation.objects.exists()


def test_signed_catalog_links_expire_and_cannot_be_altered(team, product, client, settings):
    import time_machine

    from catalog.presenters import image_path as signed_path

    path = signed_path(product.cutout)
    assert client.get(path).status_code == 200
    other = signed_path(product.original)
    mixed = path.split("?")[0] + "?" + other.split("?")[1]
    assert client.get(mixed).status_code == 404
    with time_machine.travel(time.time() + settings.STUDIO_MEDIA_URL_TTL + 120):
        assert client.get(path).status_code == 404


def test_the_admin_lists_every_catalog_model(team, product, admin_client):
    for name in ("product", "visualdna", "moodboard", "stylepreset", "catalogimage"):
        assert admin_client.get(reverse(f"admin:catalog_{name}_changelist")).status_code == 200
    url = reverse("admin:catalog_product_change", args=[product.pk])
    assert admin_client.get(url).status_code == 200


def test_a_failed_or_stalled_analysis_can_be_tried_again(
    team, alice_client, django_capture_on_commit_callbacks
):
    import time_machine

    product = services.create_product(
        team, None, services.check_upload(product_photo()), enqueue=False
    )
    retry = reverse("catalog_product_retry", args=[team.uuid, product.pk])
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(retry)  # queued a moment ago: still in its worker's hands
    product.refresh_from_db()
    assert product.analysis_status == AnalysisStatus.QUEUED and product.cutout is None
    with time_machine.travel(time.time() + 15 * 60):
        page = alice_client.get(reverse("catalog_product", args=[team.uuid, product.pk]))
        assert b"Try again" in page.content
        with django_capture_on_commit_callbacks(execute=True):
            alice_client.post(retry)
    product.refresh_from_db()
    assert product.analysis_status == AnalysisStatus.DONE and product.cutout is not None


def test_the_grid_reads_a_fixed_number_of_queries_however_many_products(
    team, alice_client, django_assert_max_num_queries
):
    for i in range(6):
        make_product(team, f"P{i}")
    with django_assert_max_num_queries(12):
        response = alice_client.get(reverse("catalog", args=[team.uuid]))
    assert response.content.decode().count('data-testid="product-card"') == 6


def test_metadata_fields_are_limited_in_size(team, product, alice_client):
    url = reverse("catalog_product", args=[team.uuid, product.pk])
    response = alice_client.post(url, {"name": "n", "colors": "x" * 30_000})
    assert response.status_code == 400 and b"at most 500 characters" in response.content


def test_without_javascript_an_upload_redirects_back_with_a_message(team, alice_client):
    upload = SimpleUploadedFile("p.jpg", product_photo(), "image/jpeg")
    response = alice_client.post(
        reverse("catalog", args=[team.uuid]), {"file": upload}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("catalog", args=[team.uuid])
    assert b"1 product(s) uploaded" in response.content
    assert Product.objects.count() == 1


def test_every_team_url_of_the_catalog_is_in_the_access_tests_above():
    from django.urls import URLPattern

    from catalog.urls import urlpatterns

    team_urls = {
        p.name for p in urlpatterns if isinstance(p, URLPattern) and "team_uuid" in str(p.pattern)
    }
    covered_reads = {
        "catalog",
        "catalog_poll",
        "catalog_product",
        "catalog_dna",
        "catalog_dna_detail",
        "catalog_moodboards",
        "catalog_moodboard_detail",
    }
    covered_writes = {
        "catalog_product_delete",
        "catalog_product_retry",
        "catalog_dna_delete",
        "catalog_moodboard_delete",
    }
    assert team_urls == covered_reads | covered_writes
