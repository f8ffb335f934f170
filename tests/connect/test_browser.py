"""The Connect page and connect.js in headless Chromium, against a real ``unimeter serve``
and the simulator over HTTP. Screenshots go to the artifacts folder."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.support.browser import ConsoleWatch, screenshot
from tests.support.cli import CLI
from tests.support.live import serve
from tests.support.server import running_server
from tests.support.world import make_sim
from unimeter.app import open_runtime
from unimeter.auth.service import create_token
from unimeter.config import Settings
from unimeter.connectors.cursor.simulator import create_app

from .support import READ_ONLY_KEY, SPARE_KEY, UNKNOWN_KEY

# One server per test process: every test here shares it.
pytestmark = pytest.mark.xdist_group("connect")

# The platform's own page, on another origin, that opens the Connect popup with connect.js.
HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script src="{base}/connect.js"></script></head>
<body><button id="go">Connect Cursor</button><output id="result"></output>
<script>
  document.getElementById("go").addEventListener("click", function () {{
    var link = new URLSearchParams(location.search).get("link");
    UnimeterConnect.open(link).then(
      function (id) {{ document.getElementById("result").textContent = "linked:" + id; }},
      function (error) {{ document.getElementById("result").textContent = "error:" + error.code; }}
    );
  }});
</script></body></html>
"""


@dataclass
class Served:
    base: str
    sim_url: str
    host_url: str
    token: str

    def link(self, tenant_id: str) -> str:
        response = httpx.post(
            self.base + "/link-tokens",
            json={"tenant_id": tenant_id, "name": "Acme", "base_url": self.sim_url},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 201, response.text
        url: str = response.json()["url"]
        return url

    def accounts(self, tenant_id: str) -> list[dict[str, Any]]:
        response = httpx.get(
            self.base + "/integrated-accounts",
            params={"tenant_id": tenant_id},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        result: list[dict[str, Any]] = response.json()["result"]
        return result


async def _api_token(url: str, data_dir: Path) -> str:
    runtime = await open_runtime(Settings(data_dir=data_dir, database_url=url))
    try:
        return (await create_token(runtime))[1]
    finally:
        await runtime.close()


def _host_app(base: str) -> Starlette:
    async def home(_: Any) -> HTMLResponse:
        return HTMLResponse(HOST_PAGE.format(base=base))

    return Starlette(routes=[Route("/", home)])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("connect")
    url = f"sqlite:///{data_dir}/unimeter.db"
    # Its own thread: Playwright's sync API may already run an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        token = pool.submit(lambda: asyncio.run(_api_token(url, data_dir))).result()
    sim = make_sim(api_keys=(SPARE_KEY,), read_only_keys=(READ_ONLY_KEY,))
    extra = {
        "UNIMETER_ALLOW_PRIVATE_URLS": "1",
        "UNIMETER_WEBHOOK_DISPATCHER": "0",
        "UNIMETER_LOG_LEVEL": "INFO",  # the access log too: it sees every link token
    }
    env = CLI(data_dir, url, extra).env()
    with (
        serve(create_app(sim)) as sim_url,
        running_server(env, "--no-scheduler", log=data_dir / "serve.log") as (base, _),
        serve(_host_app(base)) as host_url,
    ):
        yield Served(base, sim_url, host_url, token)
    log = (data_dir / "serve.log").read_text()
    assert "/connect/ulk_***" in log, "the access log masks link tokens"
    assert not re.search(r"ulk_\w{8}", log), "a link token reached the server log"
    for key in (SPARE_KEY, UNKNOWN_KEY, READ_ONLY_KEY):
        assert key not in log, "a pasted key reached the server log"


def _submit(page: Any, key: str) -> None:
    page.fill("#api_key", key)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_the_connect_page_links_once(chromium: Any, served: Served) -> None:
    link = served.link("browser")
    ctx = chromium.new_context(viewport={"width": 380, "height": 720})  # a narrow window
    page = ctx.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    try:
        page.goto(link)
        assert page.title() == "Connect Cursor · unimeter"
        screenshot(page, "connect-page")

        _submit(page, UNKNOWN_KEY)
        assert "Cursor did not accept this API key" in page.inner_text("#error")
        assert page.input_value("#api_key") == "", "the key is never echoed back"
        screenshot(page, "connect-error-invalid-key")

        _submit(page, READ_ONLY_KEY)
        assert "This key has no admin access" in page.inner_text("#error")
        screenshot(page, "connect-error-not-admin")
        assert served.accounts("browser") == []

        _submit(page, SPARE_KEY)
        assert "Your Cursor team is connected: Acme" in page.inner_text("#done")
        screenshot(page, "connect-success")
        (account,) = served.accounts("browser")
        assert account["name"] == "Acme"
        assert account["id"] in page.content()

        page.goto(link)
        assert "This link has already been used" in page.inner_text("#error")
        screenshot(page, "connect-error-used")
        assert page.locator("#api_key").count() == 0
        assert len(served.accounts("browser")) == 1
        # Chromium reports the 4xx documents themselves; nothing else may appear.
        assert [e for e in watch.errors if "status of 4" not in e] == []
    finally:
        ctx.close()


def test_connect_js_resolves_with_the_account_id(chromium: Any, served: Served) -> None:
    ctx = chromium.new_context()
    page = ctx.new_page()
    watch = ConsoleWatch()
    watch.attach(page)
    try:
        page.goto(f"{served.host_url}/?link={served.link('popup')}")
        with page.expect_popup() as opened:
            page.click("#go")
        popup = opened.value
        popup.fill("#api_key", SPARE_KEY)
        # connect.js closes the popup as soon as the success page reports: don't wait on it.
        popup.click("button[type=submit]", no_wait_after=True)
        page.wait_for_function("document.getElementById('result').textContent !== ''")
        (account,) = served.accounts("popup")
        assert page.inner_text("#result") == f"linked:{account['id']}"
        if not popup.is_closed():
            popup.wait_for_event("close")
        assert watch.errors == []
    finally:
        ctx.close()


def test_connect_js_rejects_when_the_popup_is_closed(chromium: Any, served: Served) -> None:
    ctx = chromium.new_context()
    page = ctx.new_page()
    try:
        page.goto(f"{served.host_url}/?link={served.link('closed')}")
        with page.expect_popup() as opened:
            page.click("#go")
        opened.value.close()
        page.wait_for_function("document.getElementById('result').textContent !== ''")
        assert page.inner_text("#result") == "error:closed"
        assert served.accounts("closed") == []
    finally:
        ctx.close()
