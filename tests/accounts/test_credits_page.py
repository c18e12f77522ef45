"""The Credits page: balances per bucket, the paginated ledger, the usage chart, the badge."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from studio.accounts import credits
from studio.accounts.models import Bucket, User


def _page(client, team, **params):
    return client.get(reverse("credits", args=[team.uuid]), params)


def test_the_page_shows_each_bucket_and_the_total(bob_client, funded_team):
    credits.grant(funded_team, 250, bucket=Bucket.REDEMPTION)
    response = _page(bob_client, funded_team)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="balance-plan">1,000<' in body
    assert 'data-testid="balance-pack">10,000<' in body
    assert 'data-testid="balance-redemption">250<' in body
    assert 'data-testid="balance-total">11,250<' in body
    assert "Free plan" in body


def test_the_ledger_lists_the_teams_entries_newest_first_and_no_one_elses(
    alice_client, funded_team, other_team
):
    credits.debit(funded_team, 40, "generation:first", note="A poster")
    credits.grant(other_team, 77, note="Globex secret")
    body = _page(alice_client, funded_team).content.decode()
    assert body.index("A poster") < body.index("test pack")
    assert "Globex secret" not in body


def test_the_ledger_is_paginated_and_htmx_gets_just_the_ledger(alice_client, team):
    for i in range(30):
        credits.grant(team, 1, note=f"entry {i:02d}")
    first = _page(alice_client, team).content.decode()
    assert "entry 29" in first and "entry 04" not in first
    assert "Page 1 of 2" in first
    partial = alice_client.get(
        reverse("credits", args=[team.uuid]),
        {"page": 2},
        headers={"HX-Request": "true", "HX-Target": "ledger"},
    ).content.decode()
    assert "entry 04" in partial and "entry 29" not in partial
    assert "<html" not in partial
    assert 'id="ledger"' in partial


def test_a_page_number_past_the_end_shows_the_last_page(alice_client, team):
    response = _page(alice_client, team, page=99)
    assert response.status_code == 200


def test_the_usage_chart_counts_debits_minus_refunds_per_day(alice_client, funded_team):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=2), tick=False):
        credits.debit(funded_team, 100, "generation:old")
    credits.debit(funded_team, 30, "generation:a")
    credits.debit(funded_team, 20, "generation:b")
    credits.refund("generation:b")
    usage = dict(credits.daily_usage(funded_team))
    assert usage[timezone.localdate()] == 30
    assert usage[timezone.localdate() - timedelta(days=2)] == 100
    assert sum(usage.values()) == 130
    body = _page(alice_client, funded_team).content.decode()
    assert "130 credits spent" in body
    assert 'class="bar"' in body


def test_no_usage_shows_an_empty_state_instead_of_a_chart(alice_client, team):
    body = _page(alice_client, team).content.decode()
    assert "No credits used in the last 30 days" in body
    assert 'class="bar"' not in body


def test_a_member_redeems_a_code_from_the_page(bob_client, team):
    from studio.accounts.models import RedemptionCode

    code = RedemptionCode.objects.create(credits=500)
    response = bob_client.post(
        reverse("credits", args=[team.uuid]), {"code": code.code.lower()}, follow=True
    )
    assert "Redeemed 500 credits." in response.content.decode()
    team.refresh_from_db()
    assert team.redemption_credits == 500


def test_a_wrong_code_is_a_form_error_that_says_what_happened(bob_client, team):
    response = bob_client.post(reverse("credits", args=[team.uuid]), {"code": "ABCD-EFGH-JKLM"})
    assert response.status_code == 200
    assert "That code does not exist" in response.content.decode()


def test_a_viewer_sees_why_they_cannot_redeem(vera_client, team):
    body = _page(vera_client, team).content.decode()
    assert "Viewers can't redeem codes" in body
    assert 'name="code"' not in body


def test_the_credit_badge_partial_shows_the_current_total(bob_client, funded_team):
    credits.debit(funded_team, 1, "generation:badge")
    response = bob_client.get(reverse("credit_badge", args=[funded_team.uuid]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="credit-total">10,999<' in body
    assert "<html" not in body


def test_the_credits_page_does_not_grow_in_queries_with_the_ledger(
    alice_client, team, django_assert_max_num_queries
):
    _page(alice_client, team)  # warm up: the session and last_team are written once
    with CaptureQueriesContext(connection) as few:
        _page(alice_client, team)
    assert len(few) <= 10  # 9, and the per-API-key usage table
    for i in range(60):
        credits.grant(team, 1, note=f"grant {i}", user=User.objects.get(email="bob@example.com"))
    for i in range(40):
        credits.debit(team, 1, f"generation:q{i}")
    with django_assert_max_num_queries(len(few)):
        response = _page(alice_client, team)
    assert response.content.decode().count("<tr>") >= 25


def test_usage_by_member_counts_debits_net_of_their_refunds(alice_client, funded_team, alice, bob):
    credits.debit(funded_team, 400, "generation:a", user=alice)
    credits.debit(funded_team, 100, "generation:b", user=alice)
    credits.refund("generation:b")
    credits.debit(funded_team, 900, "generation:c", user=bob)
    rows = credits.usage_by_member(funded_team)
    assert [(r.user, r.spent, r.charges) for r in rows] == [(bob, 900, 1), (alice, 400, 2)]
    body = _page(alice_client, funded_team).content.decode()
    table = body.split('data-testid="usage-by-member"', 1)[1].split("</table>", 1)[0]
    assert table.index("Bob") < table.index("Alice")
    assert '<td class="num">900</td>' in table and '<td class="num">400</td>' in table


def test_the_ledger_downloads_as_csv_with_formulas_defused(bob_client, funded_team, alice):
    credits.grant(funded_team, 5, bucket=Bucket.PACK, note="=HYPERLINK(1)", user=alice)
    page = _page(bob_client, funded_team).content.decode()
    url = reverse("ledger_csv", args=[funded_team.uuid])
    assert url in page
    response = bob_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert (
        f'filename="acme-ledger-{timezone.localdate().isoformat()}.csv"'
        in response["Content-Disposition"]
    )
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "when,kind,amount,plan,pack,redemption,balance_after,cause,note,by"
    assert len(lines) == 1 + 3  # plan allowance, test pack, this grant
    assert lines[-1].split(",")[1:4] == ["grant", "5", "0"]
    assert "'=HYPERLINK" in lines[-1] and lines[-1].endswith("alice@example.com")
