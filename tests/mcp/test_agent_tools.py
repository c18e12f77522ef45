"""The agent run MCP tools (start_agent_run, get_agent_run) on the mounted server."""

from __future__ import annotations

import pytest

from generations import language
from tests.agent.conftest import make_product
from tests.mcp.conftest import with_mcp
from tests.mcp.test_tools import run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rules_only(monkeypatch):
    from generations.providers.local import image

    monkeypatch.setattr(image, "BASE_LONG_SIDE", 256)
    monkeypatch.setattr(language, "planning_model", lambda team: None)
    monkeypatch.setattr("generations.ads.copywriter.model_copy", lambda *args: None)


def test_an_agent_run_started_over_mcp_finishes_and_reads_back(
    studio_server, alice_key, funded, rules_only
):
    product = make_product(funded)
    (started,) = run(
        studio_server,
        alice_key,
        ("start_agent_run", {"message": "make an image of this on a beach",
                             "product_ids": [str(product.pk)], "agent": "asset"}),
    )  # fmt: skip
    assert started["status"] == "succeeded", started["error"]
    assert started["artifacts"][0]["type"] == "image" and started["credits_used"] == 40
    (again,) = run(studio_server, alice_key, ("get_agent_run", {"run_id": started["run_id"]}))
    assert again["generation_ids"] == started["generation_ids"]


def test_an_mcp_agent_run_that_changes_meta_budgets_is_refused(
    studio_server, alice_key, funded, rules_only
):
    async def use(client):
        return await client.call_tool("start_agent_run", {"message": "Double my campaign budget"})

    result = with_mcp(studio_server, alice_key, use)
    assert result.is_error and "Meta" in result.content[0].text
