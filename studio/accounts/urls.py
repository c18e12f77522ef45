from django.contrib.auth import views as auth_views
from django.urls import path

from studio.accounts import views
from studio.accounts.forms import EmailAuthenticationForm, LimitedPasswordResetForm
from studio.accounts.throttle import throttled_password_reset, throttled_sign_in

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        throttled_sign_in(
            auth_views.LoginView.as_view(
                authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True
            )
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
    path("account/", views.account, name="account"),
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "password-reset/",
        throttled_password_reset(
            auth_views.PasswordResetView.as_view(form_class=LimitedPasswordResetForm)
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("teams/new/", views.team_create, name="team_create"),
    path("invite/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("t/<uuid:team_uuid>/", views.team_home, name="team_home"),
    path("t/<uuid:team_uuid>/members/", views.members, name="members"),
    path(
        "t/<uuid:team_uuid>/members/<int:member_id>/role/",
        views.member_role,
        name="member_role",
    ),
    path(
        "t/<uuid:team_uuid>/members/<int:member_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path(
        "t/<uuid:team_uuid>/invitations/<uuid:invitation_uuid>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("t/<uuid:team_uuid>/credits/", views.credits_page, name="credits"),
    path("t/<uuid:team_uuid>/credits/badge/", views.credit_badge, name="credit_badge"),
    path("t/<uuid:team_uuid>/credits/ledger.csv", views.ledger_csv, name="ledger_csv"),
    path("t/<uuid:team_uuid>/settings/", views.team_settings, name="team_settings"),
]
