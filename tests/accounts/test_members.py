"""The members page: who manages whom, and a team never loses its last owner."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from studio.accounts import services
from studio.accounts.models import Membership, Role, User
from studio.errors import Conflict, Forbidden
from tests.conftest import client_for, transactional


def _membership(team, user) -> Membership:
    return Membership.objects.get(team=team, user=user)


def _set_role(client, team, membership, role):
    return client.post(
        reverse("member_role", args=[team.uuid, membership.pk]), {"role": role}, follow=True
    )


def _remove(client, team, membership):
    return client.post(reverse("member_remove", args=[team.uuid, membership.pk]), follow=True)


@pytest.fixture
def dana(make_user, team) -> User:
    """An admin of the team."""
    user = make_user("dana@example.com", name="Dana")
    Membership.objects.create(user=user, team=team, role=Role.ADMIN)
    return user


def test_the_members_page_lists_everyone_in_the_team(bob_client, team):
    response = bob_client.get(reverse("members", args=[team.uuid]))
    assert response.status_code == 200
    body = response.content.decode()
    for email in ("alice@example.com", "bob@example.com", "vera@example.com"):
        assert email in body
    assert "charlie@example.com" not in body


def test_an_owner_changes_a_members_role(alice_client, team, bob):
    _set_role(alice_client, team, _membership(team, bob), Role.ADMIN)
    assert _membership(team, bob).role == Role.ADMIN


def test_an_admin_changes_a_members_role(dana, team, bob):
    _set_role(client_for(dana), team, _membership(team, bob), Role.VIEWER)
    assert _membership(team, bob).role == Role.VIEWER


def test_an_admin_cannot_make_anyone_owner(dana, team, bob):
    response = _set_role(client_for(dana), team, _membership(team, bob), Role.OWNER)
    assert _membership(team, bob).role == Role.MEMBER
    assert "Only an owner" in response.content.decode()


def test_an_admin_cannot_demote_or_remove_an_owner(dana, team, alice):
    owner = _membership(team, alice)
    _set_role(client_for(dana), team, owner, Role.MEMBER)
    _remove(client_for(dana), team, owner)
    assert _membership(team, alice).role == Role.OWNER


def test_a_member_cannot_change_roles(bob_client, team, vera):
    response = bob_client.post(
        reverse("member_role", args=[team.uuid, _membership(team, vera).pk]), {"role": "admin"}
    )
    assert response.status_code == 403
    assert _membership(team, vera).role == Role.VIEWER


def test_a_member_cannot_remove_someone_else(bob_client, team, vera):
    response = bob_client.post(
        reverse("member_remove", args=[team.uuid, _membership(team, vera).pk])
    )
    assert response.status_code == 403
    assert Membership.objects.filter(team=team, user=vera).exists()


def test_an_owner_removes_a_member_and_their_last_team_is_cleared(alice_client, team, bob):
    User.objects.filter(pk=bob.pk).update(last_team=team)
    response = _remove(alice_client, team, _membership(team, bob))
    assert "Removed bob@example.com" in response.content.decode()
    assert not Membership.objects.filter(team=team, user=bob).exists()
    bob.refresh_from_db()
    assert bob.last_team is None


def test_a_member_leaves_the_team_and_lands_on_home(bob_client, team, bob):
    response = bob_client.post(
        reverse("member_remove", args=[team.uuid, _membership(team, bob).pk])
    )
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert not Membership.objects.filter(team=team, user=bob).exists()


def test_a_viewer_may_leave_the_team(vera_client, team, vera):
    vera_client.post(reverse("member_remove", args=[team.uuid, _membership(team, vera).pk]))
    assert not Membership.objects.filter(team=team, user=vera).exists()


def test_the_last_owner_cannot_leave(alice_client, team, alice):
    response = _remove(alice_client, team, _membership(team, alice))
    assert Membership.objects.filter(team=team, user=alice, role=Role.OWNER).exists()
    assert "make someone else owner first" in response.content.decode()


def test_the_last_owner_cannot_demote_themselves(alice, team):
    owner = _membership(team, alice)
    with pytest.raises(Conflict):
        services.change_role(owner, owner, Role.ADMIN)
    assert _membership(team, alice).role == Role.OWNER


def test_an_owner_may_leave_once_someone_else_is_owner(alice_client, team, alice, bob):
    _set_role(alice_client, team, _membership(team, bob), Role.OWNER)
    _remove(alice_client, team, _membership(team, alice))
    assert not Membership.objects.filter(team=team, user=alice).exists()
    assert _membership(team, bob).role == Role.OWNER


def test_a_membership_of_another_team_is_404_even_for_an_owner(alice_client, team, other_team):
    foreign = Membership.objects.get(team=other_team)
    url = reverse("member_role", args=[team.uuid, foreign.pk])
    assert alice_client.post(url, {"role": "viewer"}).status_code == 404
    url = reverse("member_remove", args=[team.uuid, foreign.pk])
    assert alice_client.post(url).status_code == 404
    assert Membership.objects.get(pk=foreign.pk).role == Role.OWNER


def test_an_admin_is_not_offered_the_owner_role(dana, team):
    body = client_for(dana).get(reverse("members", args=[team.uuid])).content.decode()
    assert 'value="owner"' not in body


def test_a_member_is_told_who_can_invite(bob_client, team):
    body = bob_client.get(reverse("members", args=[team.uuid])).content.decode()
    assert "Create invitation link" not in body
    assert "Only owners and admins" in body


def test_a_team_of_one_suggests_inviting_someone(charlie_client, other_team):
    body = charlie_client.get(reverse("members", args=[other_team.uuid])).content.decode()
    assert "just you" in body


def test_the_members_page_does_not_grow_in_queries_with_members(
    alice_client, alice, team, make_user, django_assert_max_num_queries
):
    url = reverse("members", args=[team.uuid])
    alice_client.get(url)  # warm up: the session and last_team are written once
    with CaptureQueriesContext(connection) as few:
        alice_client.get(url)
    assert len(few) <= 8
    for i in range(12):
        Membership.objects.create(user=make_user(f"m{i}@example.com"), team=team)
        services.invite(team, alice, email=f"invitee{i}@example.com", send_email=False)
    with django_assert_max_num_queries(len(few)):
        response = alice_client.get(url)
    body = response.content.decode()
    assert body.count('data-testid="member-row"') == 15
    assert body.count('data-testid="invitation"') == 12


@pytest.fixture
def slow_membership_writes(monkeypatch):
    """Hold each membership write for a moment so a racing request reads in between."""
    import time

    save, delete = Membership.save, Membership.delete

    def slow_save(self, *args, **kwargs):
        time.sleep(0.2)
        return save(self, *args, **kwargs)

    def slow_delete(self, *args, **kwargs):
        time.sleep(0.2)
        return delete(self, *args, **kwargs)

    monkeypatch.setattr(Membership, "save", slow_save)
    monkeypatch.setattr(Membership, "delete", slow_delete)


@transactional
def test_two_owners_leaving_at_once_leave_the_team_one_owner(make_user, slow_membership_writes):
    first, second = make_user("one@example.com"), make_user("two@example.com")
    team = services.create_team("Duo", first)
    Membership.objects.create(user=second, team=team, role=Role.OWNER)
    memberships = list(Membership.objects.filter(team=team))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def leave(membership: Membership) -> None:
        try:
            barrier.wait()
            services.remove_member(membership, membership)
            outcomes.append("left")
        except Conflict:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=leave, args=(m,)) for m in memberships]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["left", "refused"]
    assert Membership.objects.filter(team=team, role=Role.OWNER).count() == 1


@transactional
def test_two_owners_demoting_each_other_at_once_leave_the_team_one_owner(
    make_user, slow_membership_writes
):
    first, second = make_user("one@example.com"), make_user("two@example.com")
    team = services.create_team("Duo", first)
    Membership.objects.create(user=second, team=team, role=Role.OWNER)
    a, b = list(Membership.objects.filter(team=team).order_by("pk"))
    barrier = threading.Barrier(2)

    def demote(acting: Membership, target: Membership) -> None:
        try:
            barrier.wait()
            services.change_role(acting, target, Role.MEMBER)
        except (Conflict, Forbidden):
            pass
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=demote, args=(a, b)),
        threading.Thread(target=demote, args=(b, a)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Membership.objects.filter(team=team, role=Role.OWNER).count() == 1
