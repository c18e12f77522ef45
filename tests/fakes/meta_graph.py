"""A fake of the Graph API's Conversions API edge, `POST /{version}/{pixel_id}/events`.

Like Meta it reads `{data: [events], test_event_code?, access_token}`, refuses a wrong
token (401, OAuthException 190), an empty batch or one over 1,000 events (400, code 100),
and customer information that is not SHA-256 hashed where Meta wants it hashed, or hashed
where it must be plain (400). It answers `{events_received, messages, fbtrace_id}`.
`fail_with` holds statuses to answer (in order) before behaving; `received` keeps each
accepted request's body.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from tests.fakes.server import LoopbackServer, Request, Response

HASHED = {"em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country", "external_id"}
PLAIN = {"client_ip_address", "client_user_agent", "fbc", "fbp"}
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class MetaGraphFake:
    token = "EAAB" + "x" * 40
    version = "v21.0"

    def __init__(self) -> None:
        self.server = LoopbackServer(self.handle)
        self.received: list[dict[str, Any]] = []
        self.fail_with: list[int] = []
        self.requests = 0

    def start(self) -> MetaGraphFake:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for body in self.received for event in body["data"]]

    def error(self, status: int, message: str, code: int = 100) -> Response:
        kind = "OAuthException"
        return Response.json(
            {"error": {"message": message, "type": kind, "code": code,
                       "fbtrace_id": "AfakeTrace" + secrets.token_hex(4)}},
            status,
        )  # fmt: skip

    def handle(self, request: Request) -> Response:
        self.requests += 1
        match = re.fullmatch(r"/(v[\d.]+)/(\d+)/events", request.path.split("?")[0])
        if request.method != "POST" or match is None:
            return self.error(404, "Unknown path components", 2500)
        if self.fail_with:
            status = self.fail_with.pop(0)
            return self.error(status, "An unexpected error has occurred. Please retry.", 2)
        try:
            body = request.json()
        except ValueError:
            return self.error(400, "Invalid JSON", 100)
        if body.get("access_token") != self.token:
            return self.error(401, "Invalid OAuth access token - Cannot parse access token", 190)
        data = body.get("data")
        if not isinstance(data, list) or not data:
            return self.error(400, "(#100) The parameter data is required")
        if len(data) > 1000:
            return self.error(400, "(#100) data: Array size is greater than max allowed 1000")
        for index, event in enumerate(data):
            for key, value in (event.get("user_data") or {}).items():
                values = value if isinstance(value, list) else [value]
                if key in HASHED and not all(SHA256.match(str(v)) for v in values):
                    return self.error(400, f"(#100) data[{index}].user_data.{key} is not hashed")
                if key in PLAIN and any(SHA256.match(str(v)) for v in values):
                    return self.error(
                        400, f"(#100) data[{index}].user_data.{key} must not be hashed"
                    )
        self.received.append(body)
        return Response.json(
            {"events_received": len(data), "messages": [],
             "fbtrace_id": "AfakeTrace" + secrets.token_hex(4)}
        )  # fmt: skip
