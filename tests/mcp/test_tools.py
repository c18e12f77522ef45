"""Each tool end to end on the offline engine, through the mounted server: what an agent gets."""

from __future__ import annotations

import base64
import json

import pytest

from catalog.models import Moodboard, Product, VisualDNA
from generations.models import Generation, GenerationState
from tests.catalog.conftest import png_bytes, product_photo
from tests.chat.offline import require_offline_llm
from tests.mcp.conftest import with_mcp

pytestmark = pytest.mark.django_db(transaction=True)


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def run(server, key, *calls):
    """Call tools in order on one connection; the structured answers, failing on a tool error."""

    async def use(client):
        answers = []
        for name, args in calls:
            result = await client.call_tool(name, args)
            assert not result.is_error, (name, result.content[0].text)
            answers.append(result.structured_content)
        return answers

    return with_mcp(server, key, use)


def test_every_media_type_is_generated_and_finished(studio_server, alice_key, funded):
    image, video, animated, music, speech, sound = run(
        studio_server,
        alice_key,
        ("generate_image", {"prompt": "A teapot", "aspect_ratio": "4:3"}),
        ("generate_video", {"prompt": "Clouds", "duration": 5}),
        ("generate_video_from_image", {"image_url": data_url(png_bytes((96, 64)))}),
        ("generate_music", {"prompt": "Calm piano", "instrumental": True}),
        ("generate_speech", {"text": "Welcome to the studio."}),
        ("generate_sound", {"prompt": "A door creaks", "duration": 2}),
    )
    for body in (image, video, animated, music, speech, sound):
        assert body["state"] == "completed" and body["result"]["urls"], body
    assert video["result"]["duration"] == pytest.approx(5, abs=0.2)
    assert speech["result"]["voice"] and sound["result"]["duration"] == pytest.approx(2, abs=0.2)
    assert Generation.objects.filter(state=GenerationState.SUCCEEDED).count() == 6


def test_status_of_several_ids_and_cancel_of_a_running_job(
    studio_server, alice_key, funded, monkeypatch, settings
):
    (done,) = run(studio_server, alice_key, ("generate_image", {"prompt": "Done at once"}))
    monkeypatch.setattr("generations.engine.enqueue", lambda *args: None)
    settings.STUDIO_MCP_WAIT_SECONDS = 0.1
    (queued,) = run(studio_server, alice_key, ("generate_music", {"prompt": "Never rendered"}))
    ids = [done["generation_id"], queued["generation_id"]]
    statuses, cancelled, balance = run(
        studio_server,
        alice_key,
        ("get_generation_status", {"generation_ids": ids}),
        ("cancel_generation", {"generation_id": queued["generation_id"]}),
        ("check_credits", {}),
    )
    assert [s["state"] for s in statuses["generations"]] == ["completed", "processing"]
    assert cancelled["state"] == "cancelled"
    assert cancelled["credits_refunded"] == queued["credits_charged"] > 0
    funded.refresh_from_db()
    assert balance["credits"]["total"] == funded.total_credits


def test_models_and_voices_list_what_the_team_can_use(studio_server, alice_key, funded):
    models, images_only, voices = run(
        studio_server,
        alice_key,
        ("list_models", {}),
        ("list_models", {"type": "text_to_img"}),
        ("list_voices", {"language": "en"}),
    )
    assert models["count"] == len(models["models"]) > images_only["count"] > 0
    assert all("text_to_img" in m["types"] or "image" in m["types"] for m in images_only["models"])
    assert voices["count"] > 0 and all(
        v["language_code"].startswith("en") for v in voices["voices"]
    )


def test_a_product_is_uploaded_from_a_data_url_and_listed(studio_server, alice_key, funded):
    (uploaded,) = run(
        studio_server,
        alice_key,
        ("upload_product", {"image_url": data_url(product_photo()), "name": "Gold cap bottle"}),
    )
    product_id = uploaded["data"]["id"]
    listed, one = run(
        studio_server,
        alice_key,
        ("list_products", {}),
        ("list_products", {"id": product_id}),
    )
    assert uploaded["data"]["name"] == "Gold cap bottle"
    assert uploaded["data"]["segmented_image_url"]
    assert [p["id"] for p in listed["data"]] == [product_id] and listed["meta"]["count"] == 1
    assert one["data"][0]["id"] == product_id
    assert Product.objects.filter(team=funded).count() == 1


def test_visual_dna_and_moodboard_round_trips(studio_server, alice_key, funded):
    images = [data_url(png_bytes(colour=c)) for c in ((200, 30, 30), (30, 200, 30))]
    dna, board = run(
        studio_server,
        alice_key,
        ("create_visual_dna", {"name": "Red hero", "dna_type": "character", "images": images}),
        ("create_moodboard", {"name": "Warm", "images": [{"type": "url", "url": images[0]}]}),
    )
    dna_id, board_id = dna["visual_dna"]["id"], board["moodboard"]["id"]
    dnas, renamed, one_dna, boards, restyled, one_board, image, gone_dna, gone_board = run(
        studio_server,
        alice_key,
        ("list_visual_dnas", {}),
        (
            "update_visual_dna",
            {"visual_dna_id": dna_id, "name": "Red hero v2", "images": [images[1]]},
        ),
        ("get_visual_dna", {"visual_dna_id": dna_id}),
        ("list_moodboards", {"scope": "personal"}),
        ("update_moodboard", {"moodboard_id": board_id, "style_guide": "Soft morning light"}),
        ("get_moodboard", {"moodboard_id": board_id}),
        (
            "generate_image",
            {"prompt": "Hero", "visual_dna_ids": [dna_id], "moodboard_id": board_id},
        ),
        ("delete_visual_dna", {"visual_dna_id": dna_id}),
        ("delete_moodboard", {"moodboard_id": board_id}),
    )
    assert dna_id in [d["id"] for d in dnas["visual_dnas"]]
    assert renamed["visual_dna"]["name"] == "Red hero v2"
    assert (
        one_dna["visual_dna"]["name"] == "Red hero v2" and "system_prompt" in one_dna["visual_dna"]
    )
    assert len(one_dna["visual_dna"]["images"]) == 1  # the images given replaced the set
    assert [b["id"] for b in boards["moodboards"]] == [board_id]
    assert restyled["moodboard"]["style_guide"] == "Soft morning light"
    assert one_board["moodboard"]["style_guide"] == "Soft morning light"
    assert image["state"] == "completed"
    assert gone_dna["success"] and gone_board["success"]
    assert not VisualDNA.objects.filter(team=funded).exists()
    assert not Moodboard.objects.filter(team=funded).exists()


def test_chat_send_message_answers_and_the_conversation_can_be_read(
    studio_server, alice_key, funded
):
    require_offline_llm()
    (sent,) = run(
        studio_server,
        alice_key,
        (
            "chat_send_message",
            {"message": "Say hello in three words.", "model": "studio-local/chat"},
        ),
    )
    assert sent["state"] == "completed" and sent["result"]["content"]
    conversations, messages = run(
        studio_server,
        alice_key,
        ("chat_list_conversations", {}),
        ("chat_get_messages", {"session_id": sent["session_id"]}),
    )
    assert conversations["conversations"][0]["session_id"] == sent["session_id"]
    assert [m["role"] for m in messages["messages"]] == ["user", "assistant"]


def test_resources_and_prompts_give_an_agent_the_catalogue_and_a_campaign_plan(
    studio_server, alice_key, funded
):
    async def use(client):
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        models = await client.read_resource("studio://models")
        products = await client.read_resource("studio://products")
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        campaign = await client.get_prompt(
            "product_campaign", {"brief": "Summer launch", "product_id": "abc"}
        )
        return resources, models, products, prompts, campaign

    resources, models, products, prompts, campaign = with_mcp(studio_server, alice_key, use)
    assert {"studio://models", "studio://products", "studio://voices"} <= resources
    assert json.loads(models.contents[0].text)["count"] > 0
    assert json.loads(products.contents[0].text)["data"] == []
    assert "product_campaign" in prompts
    text = campaign.messages[0].content.text
    assert "Summer launch" in text and "generate_image" in text and "product_ids" in text


def test_a_generated_image_can_feature_a_product_of_the_team_only(
    studio_server, alice_key, funded, other_team, charlie, make_key
):
    (uploaded,) = run(
        studio_server, alice_key, ("upload_product", {"image_url": data_url(product_photo())})
    )
    (image,) = run(
        studio_server,
        alice_key,
        ("generate_image", {"prompt": "On a beach", "product_ids": [uploaded["data"]["id"]]}),
    )
    assert image["state"] == "completed"
    generation = Generation.objects.get(uuid=image["generation_id"])
    assert generation.params["product_ids"] == [uploaded["data"]["id"]]
    (foreign,) = run(
        studio_server,
        make_key(other_team, charlie),
        ("upload_product", {"image_url": data_url(product_photo())}),
    )
    result = with_mcp(
        studio_server,
        alice_key,
        lambda client: client.call_tool(
            "generate_image", {"prompt": "x", "product_ids": [foreign["data"]["id"]]}
        ),
    )
    assert result.is_error and result.structured_content["code"] == "NOT_FOUND"


def test_an_image_is_edited_a_storyboard_is_made_and_an_ad_is_set_through_the_tools(
    studio_server, alice_key, funded, monkeypatch
):
    monkeypatch.setattr("generations.ads.copywriter.model_copy", lambda *args: None)
    (uploaded,) = run(
        studio_server,
        alice_key,
        ("upload_product", {"image_url": data_url(product_photo()), "name": "Trail bottle"}),
    )
    source = data_url(png_bytes((120, 80), colour=(200, 200, 200)))
    edit, storyboard, edit_models, ad = run(
        studio_server,
        alice_key,
        ("generate_image_edit", {"prompt": "make it warmer", "source_images": [source]}),
        ("generate_creative_director", {"prompt": "A lighthouse at dawn", "scene_count": 2}),
        ("list_models", {"type": "image_edit"}),
        ("generate_ad", {"brief": "A summer hiking ad", "product_ids": [uploaded["data"]["id"]]}),
    )
    assert edit["state"] == "completed" and edit["type"] == "image_edit"
    assert edit["result"]["aspect_ratio"] == "3:2"  # the source's own shape
    assert storyboard["state"] == "completed" and len(storyboard["scenes"]) == 2
    assert len({scene["title"] for scene in storyboard["scenes"]}) == 2
    assert any(m["identifier"] == "studio-local/image-edit" for m in edit_models["models"])
    (read,) = run(
        studio_server,
        alice_key,
        ("get_creative_director_status", {"generation_id": storyboard["generation_id"]}),
    )
    assert read["scenes"] == storyboard["scenes"]
    assert ad["status"] == "succeeded" and len(ad["images"]) == 1
    assert "Trail bottle" in " ".join(ad["ad_copy"].values())
    charged = sum(
        Generation.objects.filter(
            uuid__in=[edit["generation_id"], ad["generation_id"]]
        ).values_list("credits_charged", flat=True)
    )
    assert charged == 40 + 40


def test_the_storyboard_status_tool_finds_only_the_teams_storyboards(
    studio_server, alice_key, funded
):
    (image,) = run(studio_server, alice_key, ("generate_image", {"prompt": "Not a storyboard"}))
    result = with_mcp(
        studio_server,
        alice_key,
        lambda client: client.call_tool(
            "get_creative_director_status", {"generation_id": image["generation_id"]}
        ),
    )
    assert result.is_error and result.structured_content["code"] == "NOT_FOUND"


def test_a_conversion_is_sent_to_the_teams_pixel_through_the_tool(
    studio_server, alice_key, funded, settings
):
    import time

    from studio.integrations import meta
    from tests.fakes.meta_graph import MetaGraphFake

    graph = MetaGraphFake().start()
    try:
        settings.STUDIO_META_GRAPH_URL = graph.url
        settings.STUDIO_META_GRAPH_VERSION = graph.version
        settings.STUDIO_ALLOW_PRIVATE_UPSTREAMS = True
        meta.connect_pixel(funded, pixel_id="1234567890", access_token=graph.token)
        event = {
            "event_name": "Purchase",
            "event_time": int(time.time()) - 60,
            "event_id": "order_9",
            "action_source": "website",
            "event_source_url": "https://shop.example/checkout",
            "user_data": {"email": "John_Smith@gmail.com"},
        }
        (sent,) = run(studio_server, alice_key, ("send_meta_conversion", event))
    finally:
        graph.stop()
    assert sent["status"] == "sent" and sent["events_received"] == 1
    [received] = graph.events
    assert received["user_data"]["em"] == (
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
    )
