"""A webhook receiver on loopback that verifies Studio's deliveries with `standardwebhooks`,
as a client's receiver would. `answers` holds statuses to give (in order) before 204."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from tests.fakes.server import LoopbackServer, Request, Response


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: Any = None


@dataclass
class WebhookReceiver:
    secret: str = ""
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server = LoopbackServer(self.handle)

    def start(self) -> WebhookReceiver:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url + "/hooks/studio"

    def verify(self, body: bytes, headers: dict[str, str]) -> Any:
        return Webhook(self.secret).verify(body, headers)

    def handle(self, request: Request) -> Response:
        try:
            payload = self.verify(request.body, request.headers)
            verified = True
        except (WebhookVerificationError, EmptyWebhookSecretError):
            payload, verified = None, False
        self.received.append(Received(request.headers, request.body, verified, payload))
        if self.answers:
            return Response(self.answers.pop(0), b"receiver says no", "text/plain")
        return Response(204 if verified else 400, b"", "text/plain")
