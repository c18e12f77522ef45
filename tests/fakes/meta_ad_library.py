"""A fake of the Graph API's Ad Library edge, `GET /{version}/ads_archive`.

Like Meta it takes the token as `access_token` or an `Authorization: Bearer` header and
refuses a wrong one (400, OAuthException 190); it requires `ad_reached_countries` (a JSON
list) and `search_terms` or `search_page_ids` (400, code 100); it answers
`{data: [...], paging: {cursors, next?}}` with only the asked `fields`, `limit` rows a page,
and (as Meta does) the caller's token inside each `ad_snapshot_url` and `paging.next`.
`rate_limited` answers code 613 instead; `received` keeps each accepted query.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.server import LoopbackServer, Request, Response

ADS = [
    {
        "id": f"10{n:04d}",
        "page_name": page,
        "ad_creative_bodies": [body],
        "ad_creative_link_titles": [title],
        "ad_delivery_start_time": f"2026-0{1 + n % 9}-1{n % 10}",
        "publisher_platforms": ["facebook", "instagram"],
    }
    for n, (page, body, title) in enumerate(
        [
            ("Stride Running Co", "Sneakers that float on every run.", "Run lighter"),
            ("Cloud Nine Shoes", "Meet the sneaker made of clouds.", "Walk on air"),
            ("Peak Trail", "Trail sneakers built for the summit.", "Grip anything"),
        ]
        * 6
    )
]


class AdLibraryFake:
    token = "EAAG" + "q" * 44
    version = "v21.0"

    def __init__(self) -> None:
        self.server = LoopbackServer(self.handle)
        self.received: list[dict[str, str]] = []
        self.rate_limited = False

    def start(self) -> AdLibraryFake:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def error(self, status: int, message: str, code: int, kind: str = "OAuthException") -> Response:
        return Response.json(
            {"error": {"message": message, "type": kind, "code": code,
                       "fbtrace_id": "AfakeTrace"}},
            status,
        )  # fmt: skip

    def handle(self, request: Request) -> Response:
        parts = urlsplit(request.path)
        if request.method != "GET" or parts.path != f"/{self.version}/ads_archive":
            return self.error(404, "Unknown path components", 2500)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        token = query.get("access_token") or bearer
        if token != self.token:
            return self.error(400, "Invalid OAuth access token - Cannot parse access token", 190)
        if self.rate_limited:
            return self.error(400, "(#613) Calls to this api have exceeded the rate limit.", 613)
        try:
            countries = json.loads(query.get("ad_reached_countries", ""))
        except ValueError:
            countries = None
        if not isinstance(countries, list) or not countries:
            return self.error(400, "(#100) The parameter ad_reached_countries is required", 100)
        if not query.get("search_terms") and not query.get("search_page_ids"):
            return self.error(
                400,
                "(#100) search_terms or search_page_ids is required",
                100,
                "GraphMethodException",
            )
        self.received.append({**query, "token": token})
        words = query.get("search_terms", "").lower().split()
        hits = [
            ad
            for ad in ADS
            if not words
            or any(
                w in " ".join([*ad["ad_creative_bodies"], ad["page_name"]]).lower() for w in words
            )
        ]
        limit = int(query.get("limit") or 25)
        start = int(query.get("after") or 0)
        fields = query.get("fields", "id").split(",")
        page = []
        for ad in hits[start : start + limit]:
            row = {**ad, "ad_snapshot_url": "https://www.facebook.com/ads/archive/render_ad/?"
                   + urlencode({"id": ad["id"], "access_token": token})}  # fmt: skip
            page.append({k: v for k, v in row.items() if k in fields})
        paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + limit)}}
        if start + limit < len(hits):
            paging["next"] = f"{self.url}{parts.path}?" + urlencode(
                {**query, "access_token": token, "after": start + limit}
            )
        return Response.json({"data": page, "paging": paging})
