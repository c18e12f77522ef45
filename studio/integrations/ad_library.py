"""Meta's Ad Library API (`GET {graph}/{version}/ads_archive`) with a team's access token.

The token is a provider credential of kind `meta_ad_library` (the Providers page), decrypted
only here, right before the call, and sent in the Authorization header so it is in no URL.
The Graph address is the operator's (`STUDIO_META_GRAPH_URL`/`_VERSION`, as for the pixel);
a private one is refused unless STUDIO_ALLOW_PRIVATE_UPSTREAMS is on. Meta's errors become a
note for the agent's transcript, never an exception: an ad search must not fail a run.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db.models import F

from studio import http
from studio.accounts.models import Team
from studio.errors import InvalidFields
from studio.vault import credentials
from studio.vault.crypto import VaultError
from studio.vault.models import ProviderCredential

log = logging.getLogger(__name__)

PROVIDER = "meta_ad_library"
FIELDS = (
    "id,page_name,ad_creative_bodies,ad_creative_link_titles,"
    "ad_delivery_start_time,ad_snapshot_url,publisher_platforms"
)
ACTIVE_STATUSES = ("ALL", "ACTIVE", "INACTIVE")
# Meta's throttling codes: app, user, and per-call-type request limits.
RATE_LIMIT_CODES = {4, 17, 32, 613, 80004}


def credential_for(team: Team) -> ProviderCredential | None:
    """The team's own enabled Ad Library credential, else an operator-shared one."""
    return (
        credentials.visible_credentials(team)
        .filter(provider=PROVIDER, enabled=True)
        .order_by(F("team_id").asc(nulls_last=True), "-created_at")
        .first()
    )


def archive_url() -> str:
    return f"{settings.STUDIO_META_GRAPH_URL}/{settings.STUDIO_META_GRAPH_VERSION}/ads_archive"


def _ask(token: str, params: dict[str, str]) -> httpx.Response:
    return http.get_once(
        archive_url(),
        params=params,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        user_supplied=not settings.STUDIO_ALLOW_PRIVATE_UPSTREAMS,
    )


def _without_token(url: str) -> str:
    """Meta's snapshot links carry the caller's access token; the transcript must not."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "access_token"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _ad(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row.get("id", "")),
        "page_name": str(row.get("page_name", "")),
        "bodies": [str(b) for b in row.get("ad_creative_bodies") or []][:5],
        "titles": [str(t) for t in row.get("ad_creative_link_titles") or []][:5],
        "started": str(row.get("ad_delivery_start_time", ""))[:10],
        "snapshot_url": _without_token(str(row.get("ad_snapshot_url", ""))),
        "platforms": [str(p) for p in row.get("publisher_platforms") or []],
    }


def _problem(response: httpx.Response) -> tuple[str, bool]:
    """(note for the transcript, whether the token itself was refused)."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    code = error.get("code")
    if code == 190 or response.status_code == 401:
        return (
            "Meta refused the Ad Library access token (invalid or expired); replace it on "
            "the Providers page.",
            True,
        )
    if code in RATE_LIMIT_CODES or response.status_code == 429:
        return ("Meta's Ad Library rate limit was reached; try the search again later.", False)
    return (f"Meta's Ad Library answered HTTP {response.status_code} (code {code}).", False)


def search(
    team: Team, *, query: str, countries: list[str], active_status: str = "ALL", limit: int = 10
) -> dict[str, Any]:
    """Ads in Meta's Ad Library matching `query` and reaching `countries`: {configured, ads,
    more_available, note}. Never raises for Meta's or the network's failures."""
    credential = credential_for(team)
    if credential is None:
        return {
            "configured": False,
            "ads": [],
            "note": "Meta Ad Library research is not configured for this team (no Ad Library "
            "access token on the Providers page), so only the team's own ads were searched.",
        }
    if not query.strip():
        return {"configured": True, "ads": [], "note": "No search terms, so Meta's Ad Library "
                "was not searched."}  # fmt: skip
    params = {
        "search_terms": query.strip()[:100],
        "ad_reached_countries": "[" + ",".join(f'"{c}"' for c in countries) + "]",
        "ad_type": "ALL",
        "ad_active_status": active_status if active_status in ACTIVE_STATUSES else "ALL",
        "fields": FIELDS,
        "limit": str(limit),
    }
    try:
        token = credentials.decrypt_for_worker(credential)
    except VaultError:
        log.error("Cannot decrypt Ad Library credential %s", credential.uuid)
        return {"configured": True, "ads": [], "note": "The stored Ad Library token cannot be "
                "decrypted; add it again on the Providers page."}  # fmt: skip
    try:
        response = _ask(token, params)
    except (httpx.HTTPError, InvalidFields) as exc:
        log.warning("Ad Library search failed: %s", type(exc).__name__)
        return {"configured": True, "ads": [], "note": "Meta's Ad Library could not be "
                f"reached ({type(exc).__name__}); try again later."}  # fmt: skip
    finally:
        del token
    if response.status_code != 200:
        note, refused = _problem(response)
        log.warning("Ad Library search for team %s: HTTP %s", team.pk, response.status_code)
        if refused:
            credentials.mark_unhealthy(credential, note)
        return {"configured": True, "ads": [], "note": note}
    try:
        body = response.json()
        rows = [row for row in body.get("data") or [] if isinstance(row, dict)]
    except (ValueError, AttributeError):
        return {"configured": True, "ads": [], "note": "Meta's Ad Library answered with "
                "something that is not JSON."}  # fmt: skip
    if not credential.healthy:
        credentials.mark_healthy(credential)
    ads = [_ad(row) for row in rows[:limit]]
    more = bool((body.get("paging") or {}).get("next"))
    return {
        "configured": True,
        "ads": ads,
        "more_available": more,
        "note": f"Meta's Ad Library: {len(ads)} ads for “{params['search_terms']}” reaching "
        f"{', '.join(countries)}.",
    }


def check_token(token: str) -> None:
    """The Providers page's connection test: one tiny search; raises with Meta's reason."""
    from studio.upstream import CredentialCheckFailed

    try:
        response = _ask(
            token,
            {"search_terms": "test", "ad_reached_countries": '["US"]', "fields": "id",
             "limit": "1"},
        )  # fmt: skip
    except (httpx.HTTPError, InvalidFields) as exc:
        raise CredentialCheckFailed(
            f"Meta's Graph API could not be reached ({type(exc).__name__})"
        ) from None
    if response.status_code != 200:
        raise CredentialCheckFailed(_problem(response)[0])
