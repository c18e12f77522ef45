"""The MCP server at /mcp, driven by the SDK's own streamable-HTTP client over loopback."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import httpx2
import jsonschema
import pytest
from django.test import Client as DjangoClient

from generations.models import AIModel, Generation
from studio.accounts.models import Membership, Role
from tests.mcp.conftest import call, with_mcp

pytestmark = pytest.mark.django_db(transaction=True)


def balance(team) -> int:
    team.refresh_from_db()
    return team.total_credits


def listed_tools(server, key):
    async def use(client):
        return (await client.list_tools()).tools

    return with_mcp(server, key, use)


def test_tools_list_names_every_tool_with_a_valid_schema(studio_server, alice_key, funded):
    tools = {tool.name: tool for tool in listed_tools(studio_server, alice_key)}
    assert set(tools) >= {
        "generate_image", "generate_video", "generate_video_from_image", "generate_music",
        "generate_speech", "generate_sound", "get_generation_status", "cancel_generation",
        "list_models", "list_voices", "check_credits", "chat_send_message",
        "chat_list_conversations", "chat_get_messages", "list_products", "upload_product",
        "list_visual_dnas", "get_visual_dna", "create_visual_dna", "delete_visual_dna",
        "list_moodboards", "get_moodboard", "create_moodboard", "delete_moodboard",
        "update_visual_dna", "update_moodboard", "generate_image_edit",
        "generate_creative_director", "get_creative_director_status", "generate_ad",
        "start_agent_run", "get_agent_run", "send_meta_conversion",
    }  # fmt: skip
    for tool in tools.values():
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        assert tool.description
    image = tools["generate_image"].input_schema
    assert image["required"] == ["prompt"]
    assert "16:9" in image["properties"]["aspect_ratio"]["enum"]
    assert tools["generate_image"].annotations.read_only_hint is False
    assert tools["list_models"].annotations.read_only_hint is True


def test_a_new_registry_model_appears_in_the_tool_schema(studio_server, alice_key, funded):
    template = next(m for m in AIModel.objects.filter(provider="local") if m.does("image"))
    template.pk = None
    template.identifier = "local-fresh-image-model"
    template.name = "Fresh image model"
    template.save()
    tools = {tool.name: tool for tool in listed_tools(studio_server, alice_key)}
    assert (
        "local-fresh-image-model"
        in tools["generate_image"].input_schema["properties"]["model"]["enum"]
    )
    assert (
        "local-fresh-image-model"
        not in tools["generate_video"].input_schema["properties"]["model"]["enum"]
    )


def test_generate_image_answers_the_finished_images_with_studio_urls(
    studio_server, alice_key, funded, settings
):
    before = balance(funded)
    result = call(
        studio_server, alice_key, "generate_image", {"prompt": "A lighthouse", "num_images": 2}
    )
    assert not result.is_error
    body = result.structured_content
    assert body["state"] == "completed" and body["credits_used"] == 80
    urls = body["result"]["urls"]
    assert len(urls) == 2 and all(u.startswith(settings.BASE_URL) for u in urls)
    parsed = urlparse(urls[0])
    media = DjangoClient().get(f"{parsed.path}?{parsed.query}")  # no key: a signed link
    assert media.status_code == 200 and media["Content-Type"].startswith("image/")
    assert [block.type for block in result.content][1:] == ["image", "image"]
    assert json.loads(result.content[0].text)["generation_id"] == body["generation_id"]
    assert balance(funded) == before - 80


def test_credits_are_charged_exactly_as_through_rest(studio_server, alice_key, funded):
    args = {"prompt": "A red bicycle", "aspect_ratio": "16:9", "num_images": 3}
    before = balance(funded)
    rest = DjangoClient(headers={"X-API-Key": alice_key}).post(
        "/api/v1/generate/image", args, content_type="application/json"
    )
    assert rest.status_code == 200
    after_rest = balance(funded)
    result = call(studio_server, alice_key, "generate_image", args)
    assert not result.is_error
    assert before - after_rest == after_rest - balance(funded) == 120
    rest_job = Generation.objects.get(uuid=rest.json()["generation_id"])
    mcp_job = Generation.objects.get(uuid=result.structured_content["generation_id"])
    assert rest_job.credits_charged == mcp_job.credits_charged
    assert rest_job.params | {"seed": 0} == mcp_job.params | {"seed": 0}


def test_a_wait_that_outlasts_the_bound_answers_timed_out_with_the_id(
    studio_server, alice_key, funded, settings, monkeypatch
):
    monkeypatch.setattr("generations.engine.enqueue", lambda *args: None)  # nothing runs it
    settings.STUDIO_MCP_WAIT_SECONDS = 0.3
    progress = []

    async def use(client):
        async def on_progress(done, total, message):
            progress.append((done, total))

        return await client.call_tool(
            "generate_video", {"prompt": "A slow pan"}, progress_callback=on_progress
        )

    result = with_mcp(studio_server, alice_key, use)
    assert not result.is_error
    assert progress == [(0, 100)]  # told how far it is while it waited
    body = result.structured_content
    assert body["_timed_out"] is True and body["state"] == "processing"
    status = call(
        studio_server, alice_key, "get_generation_status", {"generation_id": body["generation_id"]}
    ).structured_content
    assert status["state"] == "processing" and status["generation_id"] == body["generation_id"]
    assert "_timed_out" not in status  # a plain read does not wait
    waited = call(
        studio_server,
        alice_key,
        "get_generation_status",
        {"generation_id": body["generation_id"], "wait": True},
    ).structured_content
    assert waited["_timed_out"] is True


def test_a_key_without_the_scope_is_refused_and_spends_nothing(
    studio_server, make_key, funded, alice
):
    key = make_key(funded, alice, scopes=["music"])
    before = balance(funded)
    result = call(studio_server, key, "generate_image", {"prompt": "A cat"})
    assert result.is_error
    assert result.structured_content["code"] == "FORBIDDEN"
    assert "'images'" in result.structured_content["error"]
    assert balance(funded) == before and not Generation.objects.exists()


def test_a_viewer_cannot_generate_but_can_read(studio_server, make_key, funded, bob):
    key = make_key(funded, bob)
    Membership.objects.filter(team=funded, user=bob).update(role=Role.VIEWER)
    result = call(studio_server, key, "generate_sound", {"prompt": "Rain"})
    assert result.is_error and result.structured_content["code"] == "FORBIDDEN"
    assert not Generation.objects.exists()
    credits_left = call(studio_server, key, "check_credits", {})
    assert not credits_left.is_error
    assert credits_left.structured_content["credits"]["total"] == balance(funded)


def test_another_teams_generation_is_not_found(
    studio_server, alice_key, make_key, funded, other_team, charlie
):
    from studio.accounts import credits
    from studio.accounts.models import Bucket

    credits.grant(other_team, 1000, bucket=Bucket.PACK)
    theirs = call(studio_server, make_key(other_team, charlie), "generate_image", {"prompt": "x"})
    generation_id = theirs.structured_content["generation_id"]
    for tool in ("get_generation_status", "cancel_generation"):
        result = call(studio_server, alice_key, tool, {"generation_id": generation_id})
        assert result.is_error and result.structured_content["code"] == "NOT_FOUND"


def test_the_generation_rate_limit_counts_rest_and_mcp_together(
    studio_server, alice_key, funded, settings
):
    settings.STUDIO_RATE_LIMITS = {**settings.STUDIO_RATE_LIMITS, "generation": 2}
    rest = DjangoClient(headers={"X-API-Key": alice_key})
    assert (
        rest.post(
            "/api/v1/generate/image", {"prompt": "one"}, content_type="application/json"
        ).status_code
        == 200
    )
    assert not call(studio_server, alice_key, "generate_image", {"prompt": "two"}).is_error
    spent = balance(funded)
    third = call(studio_server, alice_key, "generate_image", {"prompt": "three"})
    assert third.is_error and third.structured_content["code"] == "RATE_LIMITED"
    assert third.structured_content["retry_after"] >= 1
    assert balance(funded) == spent


def test_a_request_without_a_key_is_a_401_the_client_understands(studio_server):
    response = httpx2.post(
        f"{studio_server.url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Accept": "application/json, text/event-stream"},
    )
    assert response.status_code == 401
    body = response.json()
    assert body["jsonrpc"] == "2.0" and body["error"]["data"]["code"] == "INVALID_API_KEY"
    assert "X-API-Key" in body["error"]["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    with pytest.raises(BaseException):  # noqa: B017 - the SDK's own error for a 401
        listed_tools(studio_server, "studio_live_" + "0" * 40)


def test_a_bearer_key_works_as_well(studio_server, alice_key, funded):
    result = with_mcp(
        studio_server,
        None,
        lambda client: client.call_tool("check_credits", {}),
        Authorization=f"Bearer {alice_key}",
    )
    assert not result.is_error and result.structured_content["success"] is True


def test_the_host_check_follows_studios_allowed_hosts(studio_server, alice_key, settings):
    settings.ALLOWED_HOSTS = [".studio.test"]  # Django's pattern: the domain and subdomains

    def status_for(host: str) -> int:
        return httpx2.post(
            f"{studio_server.url}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={
                "Host": host,
                "X-API-Key": alice_key,
                "Accept": "application/json, text/event-stream",
            },
        ).status_code

    assert status_for("attacker.example") == 421
    assert status_for("127.0.0.1:9") == 421
    assert status_for("mcp.studio.test:8443") == 200


def test_invalid_arguments_are_a_tool_error_naming_the_field(studio_server, alice_key, funded):
    result = call(studio_server, alice_key, "generate_image", {"prompt": "x", "num_images": 9})
    assert result.is_error
    assert result.structured_content["code"] == "INVALID_FIELDS"
    assert (
        "num_images" in result.structured_content["error"]
        or "count" in (result.structured_content["error"])
    )


def test_a_page_of_another_site_cannot_drive_the_tools(studio_server, alice_key):
    response = httpx2.post(
        f"{studio_server.url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={
            "Origin": "https://attacker.example",
            "X-API-Key": alice_key,
            "Accept": "application/json, text/event-stream",
        },
    )
    assert response.status_code == 403
