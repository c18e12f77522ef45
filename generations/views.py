"""Pages of the Studio and Gallery, their htmx partials, and signed media delivery."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from generations import storage
from generations.models import Asset


@require_GET
def media_file(
    request: HttpRequest, asset_uuid: UUID, variant: str, filename: str
) -> HttpResponseBase:
    """Serve a stored result to anyone holding a valid signed link (no session, no key)."""
    if not storage.verify(str(asset_uuid), variant, request.GET.get("e"), request.GET.get("s")):
        raise Http404
    asset = Asset.objects.filter(uuid=asset_uuid).first()
    if asset is None:
        raise Http404
    field = asset.thumbnail if variant == "thumb" else asset.file
    if not field or not field.name:
        raise Http404
    path = Path(field.path)
    if not path.exists():
        raise Http404
    content_type = "image/webp" if variant == "thumb" else asset.mime_type
    download = filename if request.GET.get("download") == "1" else None
    return storage.ranged_file_response(request, path, content_type, download_name=download)
