"""Link tokens and the Connect page over the API, on both backends: linking once, every
refusal with its message and status, environments, CSRF and redirects."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.connectors.test_registry import Toy
from tests.support.api import ApiWorld
from tests.webhooks.support import create_hook, deliveries
from unimeter.accounts.service import credentials_of, get_account

from .support import (
    READ_ONLY_KEY,
    SPARE_KEY,
    UNKNOWN_KEY,
    accounts,
    connect_world,
    new_link,
    page,
    submit,
)

PUBLIC_HOOK = "https://93.184.216.34/hooks"  # a global literal: accepted, never contacted here
LINK_FIELDS = {
    "id", "link_token", "url", "integration", "tenant_id", "name", "redirect_url", "expires_at", "created_at",
}  # fmt: skip


async def _stored_tokens(api: ApiWorld) -> list[dict[str, object]]:
    async with api.world.runtime.db.reader() as session:
        rows = await session.execute(text("SELECT * FROM link_tokens"))
        return [dict(row._mapping) for row in rows]


async def test_a_link_token_links_one_account_then_is_used(
    database_url: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with connect_world(database_url, data_dir) as api:
        hook = await create_hook(api, PUBLIC_HOOK)
        link = await new_link(api, tenant_id="cust-42", name="Acme <Corp>")
        assert set(link) == LINK_FIELDS
        assert link["link_token"].startswith("ulk_")
        assert link["url"] == f"http://unimeter.test/connect/{link['link_token']}"
        assert (link["tenant_id"], link["name"]) == ("cust-42", "Acme <Corp>")
        stored = await _stored_tokens(api)
        assert link["link_token"] not in str(stored), "only the hash is stored"

        form = await api.client.get(page(link))
        assert form.status_code == 200
        assert form.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
        assert form.headers["cache-control"] == "no-store"
        assert 'name="api_key"' in form.text
        assert "Acme &lt;Corp&gt;" in form.text and "<Corp>" not in form.text

        done = await submit(api, link, SPARE_KEY)
        assert done.status_code == 200, done.text
        assert "Your Cursor team is connected" in done.text
        assert SPARE_KEY not in done.text
        linked = await accounts(api, tenant_id="cust-42")
        assert [(a["name"], a["status"]) for a in linked] == [("Acme <Corp>", "active")]
        assert linked[0]["id"] in done.text
        assert await accounts(api, "other", tenant_id="cust-42") == []
        events = [d["event_type"] for d in await deliveries(api, hook["id"])]
        assert sorted(events) == ["integrated_account:active", "integrated_account:created"]
        (row,) = await _stored_tokens(api)
        assert row["account_id"] == linked[0]["id"]
        assert row["used_at"] is not None

        for again in (await api.client.get(page(link)), await submit(api, link, SPARE_KEY)):
            assert again.status_code == 410
            assert "This link has already been used" in again.text
            assert 'name="api_key"' not in again.text
        assert len(await accounts(api, tenant_id="cust-42")) == 1
        assert len(await deliveries(api, hook["id"])) == 2
    assert SPARE_KEY not in caplog.text, "nor in SQL parameters: only its ciphertext is stored"


async def test_concurrent_submits_link_once(database_url: str, data_dir: Path) -> None:
    async with connect_world(database_url, data_dir) as api:
        link = await new_link(api, tenant_id="race")
        responses = await asyncio.gather(*(submit(api, link, SPARE_KEY) for _ in range(4)))
        assert sorted(r.status_code for r in responses) == [200, 410, 410, 410]
        assert len(await accounts(api, tenant_id="race")) == 1


@pytest.mark.parametrize(
    ("key", "status", "message"),
    [
        (UNKNOWN_KEY, 422, "Cursor did not accept this API key"),
        (READ_ONLY_KEY, 422, "This key has no admin access"),
        ("   ", 400, "Paste your API key"),
        ("k" * 600, 400, "That is not an API key"),
    ],
    ids=["unknown", "read-only", "blank", "too-long"],
)
async def test_refused_keys_keep_the_form_and_store_nothing(
    database_url: str,
    data_dir: Path,
    caplog: pytest.LogCaptureFixture,
    key: str,
    status: int,
    message: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with connect_world(database_url, data_dir) as api:
        hook = await create_hook(api, PUBLIC_HOOK)
        link = await new_link(api, tenant_id="refused")
        response = await submit(api, link, key)
        assert response.status_code == status
        assert message in response.text
        assert 'name="api_key"' in response.text, "the visitor may try another key"
        assert "Traceback" not in response.text
        if key.strip():
            assert key not in response.text
        assert await accounts(api, tenant_id="refused") == []
        assert await deliveries(api, hook["id"]) == []
        # The link was not used up: a good key still works.
        assert (await submit(api, link, SPARE_KEY)).status_code == 200
    if key.strip():
        assert key not in caplog.text


async def test_cursor_unreachable(
    database_url: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with connect_world(database_url, data_dir, transport="http") as api:
        link = await new_link(api, tenant_id="down", base_url="http://127.0.0.1:9")
        response = await submit(api, link, SPARE_KEY)
        assert response.status_code == 502
        assert "Cursor could not be reached" in response.text
        assert "Nothing was saved" in response.text
        assert await accounts(api, tenant_id="down") == []
        assert (await api.client.get(page(link))).status_code == 200, "still usable"
    assert SPARE_KEY not in caplog.text


async def test_expired_and_unknown_links(database_url: str, data_dir: Path) -> None:
    async with connect_world(database_url, data_dir) as api:
        link = await new_link(api, tenant_id="late", expires_in_days=1)
        assert (await api.client.get(page(link))).status_code == 200
        api.sim.clock.advance(hours=24)
        for response in (await api.client.get(page(link)), await submit(api, link, SPARE_KEY)):
            assert response.status_code == 410
            assert "This link has expired" in response.text
        assert await accounts(api, tenant_id="late") == []

        token = link["link_token"]
        altered = token[:-1] + ("A" if token[-1] != "A" else "B")
        for path in (f"/connect/{altered}", "/connect/ulk_nope", "/connect/<script>"):
            for response in (await api.client.get(path), await api.client.post(path)):
                assert response.status_code == 404, path
                assert "This link is not valid" in response.text
                assert "<script>" not in response.text


async def test_link_tokens_belong_to_the_callers_environment(
    database_url: str, data_dir: Path
) -> None:
    async with connect_world(database_url, data_dir) as api:
        link = await new_link(api, "other", tenant_id="theirs")
        assert (await submit(api, link, SPARE_KEY)).status_code == 200
        (account,) = await accounts(api, "other", tenant_id="theirs")
        assert await accounts(api, tenant_id="theirs") == []
        assert (await api.get(f"/integrated-accounts/{account['id']}")).status_code == 404

        anonymous = await api.client.post("/link-tokens", json={"tenant_id": "x"})
        assert anonymous.status_code == 401
        assert anonymous.json()["statusCode"] == 401


async def test_link_token_requests_are_validated(database_url: str, data_dir: Path) -> None:
    async with connect_world(database_url, data_dir, allow_private_urls=False) as api:
        bad = [
            {"tenant_id": ""},
            {"tenant_id": "t", "expires_in_days": 0},
            {"tenant_id": "t", "expires_in_days": 31},
            {"tenant_id": "t", "redirect_url": "javascript:alert(1)"},
            {"tenant_id": "t", "redirect_url": "https://user:pw@app.example/done"},
            {"tenant_id": "t", "redirect_url": "http://127.0.0.1/done"},
            {"tenant_id": "t", "base_url": "http://169.254.169.254/latest"},
            {"tenant_id": "t", "surprise": 1},
        ]
        for body in bad:
            response = await api.client.post("/link-tokens", json=body, headers=api.auth())
            assert response.status_code == 400, body
            assert response.json()["statusCode"] == 400
        ok = await api.client.post(
            "/link-tokens",
            json={"tenant_id": "t", "redirect_url": "https://93.184.216.34/done?x=1"},
            headers=api.auth(),
        )
        assert ok.status_code == 201, ok.text
        assert ok.json()["name"] is None
        assert ok.headers["cache-control"] == "no-store"


async def test_a_form_posted_from_another_site_is_refused(
    database_url: str, data_dir: Path
) -> None:
    async with connect_world(database_url, data_dir) as api:
        link = await new_link(api, tenant_id="csrf")
        for origin in ("https://evil.example", "null"):
            response = await api.client.post(
                page(link), data={"api_key": SPARE_KEY}, headers={"Origin": origin}
            )
            assert response.status_code == 403
            assert "another site" in response.text
        assert await accounts(api, tenant_id="csrf") == []
        same = await api.client.post(
            page(link), data={"api_key": SPARE_KEY}, headers={"Origin": "http://unimeter.test"}
        )
        assert same.status_code == 200


async def test_redirect_or_message_after_linking(database_url: str, data_dir: Path) -> None:
    async with connect_world(database_url, data_dir) as api:
        redirect = "https://app.example/cursor/done?step=2"
        link = await new_link(api, tenant_id="r1", redirect_url=redirect)
        response = await submit(api, link, SPARE_KEY)
        assert response.status_code == 303
        (account,) = await accounts(api, tenant_id="r1")
        assert response.headers["location"] == (
            f"https://app.example/cursor/done?step=2&integrated_account_id={account['id']}"
        )

        # Opened by connect.js: the id goes by message to the opener's origin instead.
        popup = await new_link(api, tenant_id="r2", redirect_url=redirect)
        form = await api.client.get(page(popup), params={"origin": "https://app.example"})
        assert 'name="origin" value="https://app.example"' in form.text
        done = await submit(api, popup, SPARE_KEY, origin="https://app.example")
        assert done.status_code == 200
        (account,) = await accounts(api, tenant_id="r2")
        assert f'data-account-id="{account["id"]}"' in done.text
        assert 'data-origin="https://app.example"' in done.text
        assert "form-action 'self' https://app.example" in done.headers["content-security-policy"]

        # A made-up origin is dropped, never echoed into the page.
        odd = await new_link(api, tenant_id="r3")
        form = await api.client.get(page(odd), params={"origin": 'javascript:"><b>x'})
        assert form.status_code == 200
        assert 'name="origin"' not in form.text and "<b>x" not in form.text


async def test_connect_js_is_served(database_url: str, data_dir: Path) -> None:
    async with connect_world(database_url, data_dir) as api:
        response = await api.client.get("/connect.js")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/javascript")
        assert "UnimeterConnect" in response.text


async def test_auto_sync_requests_the_first_sync(database_url: str, data_dir: Path) -> None:
    async with connect_world(database_url, data_dir) as api:
        api.app.state.auto_sync = True
        link = await new_link(api, tenant_id="auto")
        assert (await submit(api, link, SPARE_KEY)).status_code == 200
        (account,) = await accounts(api, tenant_id="auto")
        runs = await api.get("/sync-runs", integrated_account_id=account["id"])
        assert runs.status_code == 200, runs.text
        assert [r["trigger"] for r in runs.json()["result"]] == ["initial"]


async def test_attempts_per_link_are_limited(database_url: str, data_dir: Path) -> None:
    async with connect_world(database_url, data_dir) as api:
        link = await new_link(api, tenant_id="busy")
        statuses = [(await submit(api, link, UNKNOWN_KEY)).status_code for _ in range(10)]
        assert statuses == [422] * 10
        response = await submit(api, link, SPARE_KEY)
        assert response.status_code == 429
        assert "Too many attempts" in response.text
        assert await accounts(api, tenant_id="busy") == []


async def test_a_body_that_is_not_a_form_asks_for_the_key(
    database_url: str, data_dir: Path
) -> None:
    async with connect_world(database_url, data_dir) as api:
        link = await new_link(api, tenant_id="odd")
        broken = await api.client.post(
            page(link),
            content=b"--x\r\nnot a part",
            headers={"content-type": "multipart/form-data; boundary=x"},
        )
        assert broken.status_code == 400
        assert "Paste your API key" in broken.text
        assert await accounts(api, tenant_id="odd") == []


async def test_links_are_listed_by_status_and_can_be_revoked(
    database_url: str, data_dir: Path
) -> None:
    async with connect_world(database_url, data_dir) as api:
        used = await new_link(api, tenant_id="cust-1")
        assert (await submit(api, used, SPARE_KEY)).status_code == 200
        pending = [await new_link(api, tenant_id=f"cust-{n}") for n in (2, 3, 4)]
        foreign = await new_link(api, env="other", tenant_id="cust-9")

        first = await api.get("/link-tokens", limit=2)
        assert first.status_code == 200
        body = first.json()
        rest = (await api.get("/link-tokens", limit=2, next_cursor=body["next_cursor"])).json()
        listed = body["result"] + rest["result"]
        # Newest first; the simulated clock stands still, so ties go by id.
        assert listed == sorted(listed, key=lambda t: (t["created_at"], t["id"]), reverse=True)
        assert {t["id"] for t in listed} == {t["id"] for t in (*pending, used)}
        assert len(listed) == 4 and rest["next_cursor"] is None, "keyset pages end"
        by_id = {t["id"]: t for t in listed}
        assert by_id[used["id"]]["status"] == "used"
        assert by_id[used["id"]]["integrated_account_id"] == (await accounts(api))[-1]["id"]
        assert {by_id[t["id"]]["status"] for t in pending} == {"pending"}
        assert all("link_token" not in t and t["id"] != foreign["id"] for t in listed)
        only = (await api.get("/link-tokens", tenant_id="cust-3")).json()["result"]
        assert [t["id"] for t in only] == [pending[1]["id"]]

        revoked = await api.client.delete(f"/link-tokens/{pending[0]['id']}", headers=api.auth())
        assert revoked.status_code == 200 and revoked.json()["status"] == "expired"
        refused = await submit(api, pending[0], SPARE_KEY)
        assert refused.status_code == 410 and "expired" in refused.text
        again = await api.client.delete(f"/link-tokens/{used['id']}", headers=api.auth())
        assert again.json()["status"] == "used", "a used link stays as it was"
        elsewhere = await api.client.delete(f"/link-tokens/{foreign['id']}", headers=api.auth())
        assert elsewhere.status_code == 404
        assert len(await accounts(api)) == 2, "one link, one account (plus the world's own)"


async def test_the_page_asks_for_the_fields_its_vendor_declares(
    database_url: str, data_dir: Path
) -> None:
    """A link for another registered vendor: its name, its fields, its credentials stored."""
    async with connect_world(database_url, data_dir) as api:
        api.world.runtime.registry.register(Toy())
        unknown = await api.client.post(
            "/link-tokens", json={"tenant_id": "t", "integration": "jira"}, headers=api.auth()
        )
        assert unknown.status_code == 422
        assert unknown.json()["details"] == {"known_integrations": ["cursor", "anthropic", "toy"]}
        link = await new_link(api, tenant_id="toy-co", integration="toy")
        assert link["integration"] == "toy"
        form = await api.client.get(page(link))
        assert "Connect your Toy org: Acme" in form.text
        assert 'name="org_id"' in form.text and 'type="text" id="org_id"' in form.text
        assert 'type="password" id="token"' in form.text and 'name="api_key"' not in form.text
        half = await api.client.post(page(link), data={"org_id": "org-1"})
        assert half.status_code == 400 and "Fill in every field" in half.text
        done = await api.client.post(page(link), data={"org_id": "org-1", "token": "t" * 12})
        assert done.status_code == 200, done.text
        assert "Your Toy org is connected" in done.text
        (linked,) = await accounts(api, tenant_id="toy-co")
        assert linked["integration"] == "toy"
        account = await get_account(api.world.runtime, linked["id"])
        stored = credentials_of(api.world.runtime, account)
        assert stored == {"org_id": "org-1", "token": "t" * 12}
