"""The operator's admin: the model registry drives the Studio, jobs are found and cancelled
with a refund and a reason, and every change lands in the admin audit."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from generations.models import AIModel, Generation, GenerationState
from studio.accounts import credits
from studio.accounts.models import LedgerEntry, LedgerKind
from studio.models import AdminAudit
from tests.generations.helpers import start


def _running(team, user, prompt="a lighthouse"):
    job = start(team, user, "image", {"prompt": prompt, "count": 2})
    Generation.objects.filter(pk=job.pk).update(state=GenerationState.RUNNING)
    return job


def _model_form(model: AIModel, **changes) -> dict:
    data = {
        "identifier": model.identifier,
        "name": model.name,
        "description": model.description,
        "provider": model.provider,
        "upstream_model": model.upstream_model,
        "types": json.dumps(model.types),
        "enabled": "on" if model.enabled else "",
        "recommended": "on" if model.recommended else "",
        "new_model": "on" if model.new_model else "",
        "sort_order": model.sort_order,
        "pricing_unit": model.pricing_unit,
        "credit": model.credit,
        "input_token_rate": model.input_token_rate,
        "output_token_rate": model.output_token_rate,
        "supported_aspect_ratios": json.dumps(model.supported_aspect_ratios),
        "supported_durations": json.dumps(model.supported_durations),
        "max_reference_images": model.max_reference_images,
        "params": json.dumps(model.params),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_an_operator_changes_a_price_and_the_studio_shows_it(
    admin_client, admin_user, funded_team, alice_client
):
    model = AIModel.objects.get(identifier="studio-local/image")
    url = reverse("admin:generations_aimodel_change", args=[model.pk])
    response = admin_client.post(url, _model_form(model, credit=55))
    assert response.status_code == 302, response.content.decode()[:3000]
    studio = alice_client.get(
        reverse("studio", args=[funded_team.uuid]) + "?type=image&model=studio-local/image"
    )
    assert 'data-testid="cost-credits">55<' in studio.content.decode()
    row = AdminAudit.objects.get(target_type="generations.aimodel", field="credit")
    assert (row.actor, row.action, row.old_value, row.new_value) == (
        admin_user,
        "change",
        "40",
        "55",
    )


def test_the_model_list_edits_enabled_price_and_order_in_place(admin_client):
    response = admin_client.get(reverse("admin:generations_aimodel_changelist"))
    body = response.content.decode()
    assert response.status_code == 200
    for field in ("enabled", "credit", "sort_order", "recommended"):
        assert f'name="form-0-{field}"' in body


def test_disabling_a_model_hides_it_from_the_studio_and_is_audited(
    admin_client, funded_team, alice_client
):
    model = AIModel.objects.get(identifier="studio-local/image")
    admin_client.post(
        reverse("admin:generations_aimodel_changelist"),
        {"action": "disable", "_selected_action": [model.pk]},
    )
    model.refresh_from_db()
    assert model.enabled is False
    page = alice_client.get(reverse("studio", args=[funded_team.uuid]) + "?type=image")
    assert "studio-local/image" not in page.content.decode()
    row = AdminAudit.objects.get(target_id=str(model.pk), field="enabled")
    assert (row.old_value, row.new_value) == ("True", "False")


def test_admin_cancel_and_refund_refunds_once_with_the_reason_and_writes_the_audit(
    admin_client, admin_user, funded_team, alice
):
    job = _running(funded_team, alice)
    before = funded_team.total_credits - job.credits_charged
    changelist = reverse("admin:generations_generation_changelist")
    asked = admin_client.post(
        changelist, {"action": "cancel_and_refund", "_selected_action": [job.pk]}
    )
    assert 'name="reason"' in asked.content.decode()
    assert Generation.objects.get(pk=job.pk).state == GenerationState.RUNNING
    for _ in range(2):  # a second submit (a reload) refunds nothing more
        admin_client.post(
            changelist,
            {
                "action": "cancel_and_refund",
                "_selected_action": [job.pk],
                "apply": "1",
                "reason": "Customer ticket 812",
            },
            follow=True,
        )
    job.refresh_from_db()
    assert job.state == GenerationState.CANCELLED
    assert "Customer ticket 812" in job.error
    refunds = LedgerEntry.objects.filter(kind=LedgerKind.REFUND, cause=job.ledger_cause)
    assert refunds.count() == 1
    assert "Customer ticket 812" in refunds.get().note
    funded_team.refresh_from_db()
    assert funded_team.total_credits == before + job.credits_charged
    rows = AdminAudit.objects.filter(action="cancel and refund", target_id=str(job.pk))
    assert {r.field: (r.old_value, r.new_value) for r in rows} == {
        "state": ("running", "cancelled"),
        "credits_refunded": ("0", str(job.credits_charged)),
    }
    assert {r.reason for r in rows} == {"Customer ticket 812"} and rows[0].actor == admin_user
    assert credits.reconcile() == []


def test_cancel_and_refund_needs_a_reason(admin_client, funded_team, alice):
    job = _running(funded_team, alice)
    response = admin_client.post(
        reverse("admin:generations_generation_changelist"),
        {"action": "cancel_and_refund", "_selected_action": [job.pk], "apply": "1"},
    )
    assert "This field is required" in response.content.decode()
    assert Generation.objects.get(pk=job.pk).state == GenerationState.RUNNING


@pytest.mark.parametrize("field", ["uuid", "team", "email", "state"])
def test_an_operator_finds_a_job_by_id_team_member_or_state(
    admin_client, funded_team, other_team, alice, charlie, field
):
    mine = _running(funded_team, alice, prompt="mine")
    credits.grant(other_team, 1000)
    theirs = start(other_team, charlie, "image", {"prompt": "theirs"})
    url = reverse("admin:generations_generation_changelist")
    query = {
        "uuid": {"q": str(mine.uuid)},
        "team": {"q": funded_team.name},
        "email": {"q": alice.email},
        "state": {"state__exact": "running"},
    }[field]
    body = admin_client.get(url, query).content.decode()
    assert str(mine.uuid) in body and str(theirs.uuid) not in body


def test_a_job_in_the_admin_is_read_only_and_shows_no_upstream_secrets(
    admin_client, funded_team, alice
):
    job = _running(funded_team, alice)
    body = admin_client.get(
        reverse("admin:generations_generation_change", args=[job.pk])
    ).content.decode()
    assert 'name="prompt"' not in body and "upstream_handle" not in body
    assert admin_client.get(reverse("admin:generations_generation_add")).status_code == 403


def test_granting_credits_in_the_admin_is_audited(admin_client, admin_user, team):
    admin_client.post(
        reverse("admin:accounts_team_changelist"),
        {
            "action": "grant_credits",
            "_selected_action": [team.pk],
            "apply": "1",
            "amount": 300,
            "bucket": "pack",
            "note": "Invoice 7",
        },
    )
    row = AdminAudit.objects.get(target_type="accounts.team")
    assert (row.action, row.old_value, row.new_value, row.reason) == (
        "grant credits",
        "1000",
        "1300",
        "Invoice 7",
    )
    assert admin_client.get(reverse("admin:studio_adminaudit_changelist")).status_code == 200
