"""Studio's URLs plus a bare view, so both are served by one gunicorn through one middleware."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from studio.urls import urlpatterns as studio_urlpatterns


def bare(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"success": True})


urlpatterns = [path("bench/bare/", bare), *studio_urlpatterns]
