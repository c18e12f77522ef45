"""Meta Conversions API forwarding (Krev's `POST /api/v1/conversions/meta`).

Studio validates events the way the Graph API does (so a bad batch is refused whole, naming
the event, before anything is sent), normalises and SHA-256-hashes the contact fields of
`user_data` as Meta specifies (friendly keys like `email` become `em`; values that already
are 64-hex hashes pass through; `client_ip_address`, `client_user_agent`, `fbc`, `fbp` are
never hashed), and posts `{data, test_event_code?, access_token}` to
`{STUDIO_META_GRAPH_URL}/{STUDIO_META_GRAPH_VERSION}/{pixel_id}/events` as a delivery
(studio/integrations/deliveries.py), retried within the call. `(pixel, event_name,
event_id)` is sent once per 48 h: a repeat is answered from the first delivery.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from studio.accounts.models import Team
from studio.errors import InvalidFields, MissingFields, StudioError
from studio.integrations import deliveries
from studio.integrations.deliveries import NotDeliverable, Prepared
from studio.integrations.models import (
    Delivery,
    DeliveryKind,
    DeliveryState,
    MetaEventSent,
    MetaPixel,
)
from studio.vault import crypto

MAX_EVENTS = 1000
MAX_AGE = timedelta(days=7)
DEDUP_WINDOW = timedelta(hours=48)
# An event stamped a little ahead of Studio's clock is the sender's clock, not a mistake.
FUTURE_SKEW = 300
ACTION_SOURCES = {
    "email",
    "website",
    "app",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
}
FRIENDLY_KEYS = {
    "email": "em",
    "phone": "ph",
    "first_name": "fn",
    "last_name": "ln",
    "date_of_birth": "db",
    "gender": "ge",
    "city": "ct",
    "state": "st",
    "zip": "zp",
    "country": "country",
    "external_id": "external_id",
}
HASHED_KEYS = {"em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country", "external_id"}
PLAIN_KEYS = {
    "client_ip_address",
    "client_user_agent",
    "fbc",
    "fbp",
    "subscription_id",
    "fb_login_id",
    "lead_id",
    "anon_id",
    "madid",
    "page_id",
    "page_scoped_user_id",
    "ctwa_clid",
    "ig_account_id",
    "ig_sid",
}
# Country calling codes for numbers given without one (Meta wants them with it).
CALLING_CODES = {
    **dict.fromkeys(["us", "ca"], "1"),
    **{"gb": "44", "ie": "353", "fr": "33", "de": "49", "es": "34", "it": "39", "nl": "31"},
    **{"be": "32", "pt": "351", "au": "61", "nz": "64", "in": "91", "br": "55", "mx": "52"},
    **{"jp": "81", "il": "972"},
}
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class UpstreamError(StudioError):
    code, status, default_message = "UPSTREAM_ERROR", 502, "Meta could not be reached"


# --- normalising and hashing (Meta's customer information parameters) ----------------------


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _letters(value: str) -> str:
    """Lowercase, without spaces or punctuation (letters and digits of any script kept)."""
    value = unicodedata.normalize("NFC", value.strip().lower())
    return "".join(ch for ch in value if ch.isalnum())


def normalise(key: str, value: str, country: str = "") -> str:
    """`value` of the customer information parameter `key` as Meta wants it before hashing."""
    value = str(value).strip()
    if key == "em":
        return value.lower()
    if key == "ph":
        digits = re.sub(r"\D", "", value).lstrip("0")
        code = CALLING_CODES.get(country)
        if code is None and not country and len(digits) == 10:
            code = "1"  # a ten-digit number without a country: North American numbering
        international = value.startswith(("+", "00"))
        if code and not international and not (digits.startswith(code) and len(digits) > 10):
            digits = code + digits
        return digits
    if key == "ge":
        first = value.lower()[:1]
        return first if first in ("f", "m") else value.lower()
    if key == "db":
        digits = re.sub(r"\D", "", value)
        if len(digits) == 8 and not re.match(r"^(19|20)\d{6}$", digits):
            digits = digits[4:] + digits[:4]  # MMDDYYYY → YYYYMMDD
        return digits
    if key == "zp":
        compact = value.lower().replace(" ", "").replace("-", "")
        return compact[:5] if re.match(r"^\d{9}$", compact) else compact
    if key in ("fn", "ln", "ct", "st", "country"):
        return _letters(value)
    return value  # external_id: hashed as given (trimmed)


def hash_value(key: str, value: Any, country: str = "") -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InvalidFields(f"user_data.{key} must be a string or a list of strings")
    text = str(value).strip()
    if SHA256_HEX.match(text.lower()):
        return text.lower()  # already hashed by the sender
    return sha256(normalise(key, text, country))


def hash_user_data(user_data: dict[str, Any]) -> dict[str, Any]:
    """Meta's `user_data` for the friendly or Meta keys of `user_data`."""
    out: dict[str, Any] = {}
    raw_country = user_data.get("country") or ""
    country = _letters(raw_country) if isinstance(raw_country, str) else ""
    for name, value in user_data.items():
        key = FRIENDLY_KEYS.get(name, name)
        if value is None or value == "" or value == []:
            continue
        if key in HASHED_KEYS:
            if isinstance(value, list):
                out[key] = [hash_value(key, item, country) for item in value]
            else:
                out[key] = hash_value(key, value, country)
        elif key in PLAIN_KEYS:
            out[key] = value
        else:
            raise InvalidFields(f"user_data.{name} is not a Meta customer information parameter")
    return out


# --- validation -----------------------------------------------------------------------------


def _event(index: int, raw: Any, now: float, many: bool) -> dict[str, Any]:
    where = f"data[{index}]" if many else "the event"
    try:
        return _checked_event(raw, now)
    except StudioError as exc:
        exc.message = f"{where}: {exc.message}" if many else exc.message
        raise


def _checked_event(raw: Any, now: float) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidFields("each event must be an object")
    missing = [name for name in ("event_name", "event_time", "action_source") if not raw.get(name)]
    if missing:
        raise MissingFields(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required")
    if not isinstance(raw["event_name"], str) or len(raw["event_name"]) > 100:
        raise InvalidFields("event_name must be a string of at most 100 characters")
    event_time = raw["event_time"]
    if isinstance(event_time, bool) or not isinstance(event_time, int):
        raise InvalidFields("event_time must be a Unix timestamp in seconds (an integer)")
    if event_time < now - MAX_AGE.total_seconds():
        raise InvalidFields("event_time is more than 7 days old; Meta refuses such events")
    if event_time > now + FUTURE_SKEW:
        raise InvalidFields("event_time is in the future")
    source = raw["action_source"]
    if source not in ACTION_SOURCES:
        raise InvalidFields(
            f"action_source must be one of {', '.join(sorted(ACTION_SOURCES))}, not {source!r}"
        )
    if source == "website" and not raw.get("event_source_url"):
        raise MissingFields("event_source_url is required when action_source is 'website'")
    if source == "app" and not raw.get("app_data"):
        raise MissingFields("app_data is required when action_source is 'app'")
    event_id = raw.get("event_id")
    if event_id is not None and (not isinstance(event_id, str | int) or len(str(event_id)) > 200):
        raise InvalidFields("event_id must be a string of at most 200 characters")
    user_data = raw.get("user_data")
    if not isinstance(user_data, dict) or not user_data:
        raise MissingFields("user_data is required (at least one customer information parameter)")
    for name in ("custom_data", "app_data"):
        if raw.get(name) is not None and not isinstance(raw[name], dict):
            raise InvalidFields(f"{name} must be an object")
    event = dict(raw)
    event["user_data"] = hash_user_data(user_data)
    if event_id is not None:
        event["event_id"] = str(event_id)
    return event


def validate(body: Any) -> list[dict[str, Any]]:
    """The events of a request (one event, or `{data: [...]}`), Meta-ready; the whole
    request refused (naming the event) when one is invalid."""
    if not isinstance(body, dict):
        raise InvalidFields("The request body must be a JSON object")
    now = time.time()
    if "data" in body:
        events = body["data"]
        if not isinstance(events, list) or not events:
            raise InvalidFields("data must be a non-empty list of events")
        if len(events) > MAX_EVENTS:
            raise InvalidFields(f"data holds at most {MAX_EVENTS} events per request")
        return [_event(i, raw, now, True) for i, raw in enumerate(events)]
    return [_event(0, body, now, False)]


# --- pixels ---------------------------------------------------------------------------------


def connect_pixel(
    team: Team, *, pixel_id: str, access_token: str = "", test_event_code: str = ""
) -> MetaPixel:
    """Connect (or update) the team's pixel; an empty token keeps the stored one."""
    pixel_id = (pixel_id or "").strip()
    if not re.fullmatch(r"\d{5,32}", pixel_id):
        raise InvalidFields("The pixel id is the number Meta shows (digits only)", field="pixel_id")
    access_token = (access_token or "").strip()
    test_event_code = (test_event_code or "").strip()
    if len(test_event_code) > 60:
        raise InvalidFields("The test event code is at most 60 characters", field="test_event_code")
    pixel = MetaPixel.objects.filter(team=team).first()
    if pixel is None and not access_token:
        raise MissingFields("The access token is required", field="access_token")
    if access_token and (len(access_token) < 20 or any(ch.isspace() for ch in access_token)):
        raise InvalidFields("That does not look like a Meta access token", field="access_token")
    pixel = pixel or MetaPixel(team=team)
    pixel.pixel_id = pixel_id
    pixel.test_event_code = test_event_code
    pixel.updated_at = timezone.now()
    if access_token:
        pixel.access_token_encrypted = crypto.encrypt(access_token, row=pixel.uuid)
        pixel.token_last4 = access_token[-4:]
    pixel.save()
    return pixel


def disconnect_pixel(team: Team) -> None:
    MetaPixel.objects.filter(team=team).delete()


def events_url(pixel: MetaPixel) -> str:
    return (
        f"{settings.STUDIO_META_GRAPH_URL}/{settings.STUDIO_META_GRAPH_VERSION}/"
        f"{pixel.pixel_id}/events"
    )


def prepare(delivery: Delivery) -> Prepared:
    pixel = delivery.pixel
    if pixel is None:
        raise NotDeliverable("The Meta pixel was disconnected")
    token = crypto.decrypt(pixel.access_token_encrypted, row=pixel.uuid)
    body = {**json.loads(bytes(delivery.payload)), "access_token": token}
    return Prepared(
        delivery.url,
        json.dumps(body, separators=(",", ":")).encode(),
        {"Content-Type": "application/json"},
        # An operator may put the Graph API behind a private proxy only deliberately.
        user_supplied=not settings.STUDIO_ALLOW_PRIVATE_UPSTREAMS,
    )


deliveries.register(DeliveryKind.META, prepare)


# --- forwarding -----------------------------------------------------------------------------


def _answer(delivery: Delivery) -> dict[str, Any]:
    try:
        meta = json.loads(delivery.response_excerpt or "{}")
    except ValueError:
        meta = {}
    return meta if isinstance(meta, dict) else {}


def _claim_events(
    pixel: MetaPixel, delivery: Delivery, events: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[Delivery]]:
    """(events to send now, the earlier deliveries that already sent the others)."""
    MetaEventSent.objects.filter(pixel=pixel, created_at__lt=timezone.now() - DEDUP_WINDOW).delete()
    fresh: list[dict[str, Any]] = []
    earlier: list[Delivery] = []
    for event in events:
        if "event_id" not in event:
            fresh.append(event)
            continue
        try:
            with transaction.atomic():
                MetaEventSent.objects.create(
                    pixel=pixel,
                    event_name=event["event_name"],
                    event_id=event["event_id"],
                    delivery=delivery,
                )
            fresh.append(event)
        except IntegrityError:
            seen = (
                MetaEventSent.objects.select_related("delivery")
                .filter(pixel=pixel, event_name=event["event_name"], event_id=event["event_id"])
                .first()
            )
            if seen is None:  # expired between the two statements: send it
                fresh.append(event)
            else:
                earlier.append(seen.delivery)
    return fresh, earlier


def _wait_for(delivery: Delivery, patience: float = 60.0) -> Delivery:
    """Attempt `delivery` (sleeping between attempts) until it is finished."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.state != DeliveryState.PENDING:
            return delivery
        due = delivery.next_attempt_at
        wait = (due - timezone.now()).total_seconds() if due else 0.2
        if wait > 0:
            time.sleep(min(wait, 1.0))
            continue
        if deliveries.attempt(delivery.pk) is None:
            time.sleep(0.1)  # someone else holds this attempt
    delivery.refresh_from_db()
    return delivery


def forward(team: Team, body: Any, *, test_event_code: str | None = None) -> dict[str, Any]:
    """Validate, hash and send the request's events to the team's pixel; Krev's answer."""
    pixel = MetaPixel.objects.filter(team=team).first()
    if pixel is None:
        raise InvalidFields(
            "No Meta pixel is connected to this team: connect one on the Integrations page"
        )
    events = validate(body)
    code = test_event_code if test_event_code is not None else pixel.test_event_code
    with transaction.atomic():
        delivery = deliveries.create(
            team,
            DeliveryKind.META,
            events_url(pixel),
            events[0]["event_name"] if len(events) == 1 else f"{len(events)} events",
            b"{}",
            pixel=pixel,
            message_id=f"meta_{uuid.uuid4().hex}",
            max_attempts=settings.STUDIO_META_ATTEMPTS,
        )
        fresh, earlier = _claim_events(pixel, delivery, events)
        if not fresh:
            delivery.delete()
        else:
            payload: dict[str, Any] = {"data": fresh}
            if code:
                payload["test_event_code"] = code
            delivery.payload = json.dumps(payload, separators=(",", ":")).encode()
            delivery.event_type = (
                fresh[0]["event_name"] if len(fresh) == 1 else f"{len(fresh)} events"
            )
            delivery.save(update_fields=["payload", "event_type"])
    if not fresh:
        first = earlier[0]
        return {
            "success": True,
            "status": "sent",
            "events_received": len(events),
            "fbtrace_id": _answer(first).get("fbtrace_id", ""),
            "deduplicated": len(events),
        }
    delivery = _wait_for(delivery)
    meta = _answer(delivery)
    if delivery.state == DeliveryState.SUCCEEDED:
        received = meta.get("events_received", len(fresh))
        answer = {
            "success": True,
            "status": "sent",
            "events_received": int(received) + len(earlier),
            "fbtrace_id": meta.get("fbtrace_id", ""),
        }
        if earlier:
            answer["deduplicated"] = len(earlier)
        return answer
    # Not sent: the events may be sent again by a retry of this request.
    MetaEventSent.objects.filter(delivery=delivery).delete()
    error = meta.get("error")
    error = error if isinstance(error, dict) else {}
    status = delivery.last_status_code
    if status is not None and 400 <= status < 500 and status != 429:
        message = error.get("error_user_msg") or error.get("message") or delivery.last_error
        raise InvalidFields(f"Meta refused the events: {message}")
    if delivery.state == DeliveryState.PENDING:
        raise UpstreamError("Meta did not answer in time; the events will be retried")
    raise UpstreamError(f"Meta could not be reached: {delivery.last_error}")


def send_test_event(team: Team) -> dict[str, Any]:
    """Send one PageView marked as a test (with the pixel's test event code when it has
    one) and return Meta's answer, or `{success: false, error}`."""
    now = int(time.time())
    event = {
        "event_name": "PageView",
        "event_time": now,
        "event_id": f"studio-test-{uuid.uuid4().hex[:12]}",
        "action_source": "website",
        "event_source_url": settings.BASE_URL or "https://studio.invalid/",
        "user_data": {"email": "test@example.com", "client_user_agent": "Studio test event"},
    }
    try:
        return forward(team, event)
    except StudioError as exc:
        return {"success": False, "error": exc.message, "code": exc.code}
