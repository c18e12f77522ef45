"""Pages whose cost does not grow with the team's history: capped page counts, the usage
chart cut by day in the database, stale rate counters purged on a schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django_q.models import Schedule

from studio import pagination, tasks
from studio.accounts import credits
from studio.accounts.models import LedgerEntry
from studio.api import ratelimit
from studio.models import RateCounter


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(pagination, "DEFAULT_CAP", 50)


def test_a_ledger_longer_than_the_cap_shows_its_newest_pages_and_says_there_are_more(
    alice_client, team, small_cap
):
    for i in range(60):
        credits.grant(team, 1, note=f"entry {i:02d}")
    body = alice_client.get(reverse("credits", args=[team.uuid])).content.decode()
    assert "entry 59" in body
    assert "Page 1 of 2+" in body
    last = alice_client.get(reverse("credits", args=[team.uuid]), {"page": 99}).content.decode()
    assert "Page 2 of 2+" in last and "entry 10" in last  # the 50 newest reach page 2


def test_a_short_ledger_counts_its_pages_exactly(alice_client, team):
    for i in range(30):
        credits.grant(team, 1, note=f"entry {i:02d}")
    body = alice_client.get(reverse("credits", args=[team.uuid])).content.decode()
    assert "Page 1 of 2<" in body


def test_usage_is_cut_at_utc_midnight_by_the_database(funded_team):
    midnight = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), tzinfo=UTC)
    with time_machine.travel(midnight - timedelta(seconds=1), tick=False):
        credits.debit(funded_team, 7, "generation:before-midnight")
    with time_machine.travel(midnight + timedelta(seconds=1), tick=False):
        credits.debit(funded_team, 11, "generation:after-midnight")
    with time_machine.travel(midnight + timedelta(hours=1), tick=False):
        usage = dict(credits.daily_usage(funded_team))
        today = midnight.date()
    assert usage[today] == 11
    assert usage[today - timedelta(days=1)] == 7


def test_usage_leaves_out_days_before_the_chart(funded_team):
    with time_machine.travel(datetime.now(UTC) - timedelta(days=40), tick=False):
        credits.debit(funded_team, 5, "generation:long-ago")
    usage = credits.daily_usage(funded_team)
    assert len(usage) == 30 and sum(amount for _, amount in usage) == 0
    assert LedgerEntry.objects.filter(team=funded_team, cause="generation:long-ago").exists()


def test_the_catalog_shows_a_page_of_the_newest_products_with_a_link_to_older(team, alice_client):
    from catalog.models import Product
    from catalog.services import check_upload, create_product
    from tests.catalog.conftest import product_photo

    first = create_product(team, None, check_upload(product_photo()), name="P", enqueue=False)
    Product.objects.bulk_create(
        [
            Product(team=team, name=f"Bulk {i:03d}", original=first.original, source="api")
            for i in range(70)
        ]
    )
    body = alice_client.get(reverse("catalog", args=[team.uuid])).content.decode()
    assert body.count('data-testid="product-card"') == 60
    assert "page=2" in body and "Page 1 of 2" in body
    older = alice_client.get(reverse("catalog", args=[team.uuid]), {"page": 2}).content.decode()
    assert older.count('data-testid="product-card"') == 11


def test_stale_rate_counters_are_purged_by_an_hourly_schedule(db):
    schedule = Schedule.objects.get(func="studio.tasks.purge_stale_rate_counters")
    assert schedule.schedule_type == Schedule.HOURLY
    now = 1_800_000_000.0
    window = int(now // ratelimit.WINDOW_SECONDS)
    RateCounter.objects.create(subject="old", window=window - 5, hits=3)
    RateCounter.objects.create(subject="current", window=window, hits=1)
    with time_machine.travel(now, tick=False):
        assert tasks.purge_stale_rate_counters() == 1
    assert list(RateCounter.objects.values_list("subject", flat=True)) == ["current"]
