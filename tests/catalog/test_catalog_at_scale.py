"""The catalog page's category list comes from an index walk, not a read of every product."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.models import Product
from catalog.services import check_upload, create_product
from catalog.views import team_categories
from tests.catalog.conftest import product_photo

pytestmark = pytest.mark.django_db


def add_products(team, categories):
    first = create_product(team, None, check_upload(product_photo()), name="P", enqueue=False)
    Product.objects.bulk_create(
        [
            Product(team=team, name=f"P{i}", category=c, original=first.original, source="api")
            for i, c in enumerate(categories)
        ]
    )


def test_each_category_is_listed_once_in_order_without_blanks_or_other_teams(team, other_team):
    add_products(team, ["shoes", "bags", "", "shoes", "watches", "bags"])
    add_products(other_team, ["hats"])
    assert team_categories(team) == ["bags", "shoes", "watches"]


def test_the_catalog_page_offers_the_categories_as_filters(team, alice_client):
    add_products(team, ["shoes", "bags"])
    body = alice_client.get(reverse("catalog", args=[team.uuid])).content.decode()
    assert "bags" in body and "shoes" in body
