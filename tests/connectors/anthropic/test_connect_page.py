"""The Connect page for an Anthropic organization: Anthropic's field and help text, the two
refusals told apart (not an Admin key, a rejected key), and the link made with a good key."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.connect.support import accounts, connect_world, new_link, page
from tests.connectors.conformance.anthropic import SIM_BASE_URL, _connector
from unimeter.accounts.service import credentials_of, get_account
from unimeter.connectors.anthropic.simulator import (
    AnthropicSimConfig,
    SimulatedAnthropic,
    create_app,
)


async def test_the_connect_page_links_an_anthropic_organization(
    database_url: str, data_dir: Path
) -> None:
    sim = SimulatedAnthropic(AnthropicSimConfig(seed=11, users=6, days=5, now_ms=1_781_526_896_000))
    transport = httpx.ASGITransport(app=create_app(sim))
    async with connect_world(database_url, data_dir) as api:
        api.world.runtime.registry.register(_connector(transport, 1000), replace=True)
        link = await new_link(
            api, tenant_id="claude-co", integration="anthropic", base_url=SIM_BASE_URL
        )
        form = await api.client.get(page(link))
        assert form.status_code == 200
        # Anthropic's own words: the Admin key, where to make one, the key it is not.
        assert "Anthropic Admin API key" in form.text and "Admin keys" in form.text
        assert 'type="password"' in form.text and 'name="api_key"' in form.text

        not_admin = await api.client.post(page(link), data={"api_key": sim.non_admin_key})
        assert not_admin.status_code in (400, 401, 403, 422), not_admin.text
        assert "no admin access" in not_admin.text and "Anthropic knows this key" in not_admin.text
        assert sim.non_admin_key not in not_admin.text
        rejected = await api.client.post(page(link), data={"api_key": "sk-ant-admin01-" + "x" * 93})
        assert "Anthropic did not accept this API key" in rejected.text
        assert "no admin access" not in rejected.text
        assert await accounts(api, tenant_id="claude-co") == []

        done = await api.client.post(page(link), data={"api_key": sim.keys[0]})
        assert done.status_code == 200, done.text
        (linked,) = await accounts(api, tenant_id="claude-co")
        assert linked["integration"] == "anthropic"
        account = await get_account(api.world.runtime, linked["id"])
        assert credentials_of(api.world.runtime, account) == {"api_key": sim.keys[0]}
