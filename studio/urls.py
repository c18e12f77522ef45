from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from studio import health, metrics
from studio.accounts.throttle import throttled_sign_in
from studio.api.root import api

admin.site.site_header = f"{settings.STUDIO_SITE_NAME} administration"
admin.site.site_title = settings.STUDIO_SITE_NAME

urlpatterns = [
    # For load balancers and Prometheus: no session, no login (metrics takes a bearer token).
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    # The admin's own login, under the same password-guessing limits as the sign-in form.
    path("admin/login/", throttled_sign_in(admin.site.login)),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("studio.accounts.urls")),
    path("", include("studio.vault.urls")),
    path("", include("studio.integrations.urls")),  # webhooks, Meta pixel, delivery log
    path("", include("generations.urls")),
    path("", include("catalog.urls")),  # products, Visual DNA, moodboards, signed files
]
