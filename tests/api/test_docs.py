"""``/docs`` works offline: the page references only local URLs, and they answer."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.api import api_world


async def test_docs_load_every_asset_from_this_server(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        page = await api.client.get("/docs")
        assert page.status_code == 200
        urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
        assert urls, page.text
        assert not [u for u in urls if "://" in u or u.startswith("//")], urls
        assets = [u for u in urls if u.startswith("/docs/assets/")]
        assert len(assets) >= 2, urls  # the script and the stylesheet at least
        for url in [*assets, "/openapi.json"]:
            response = await api.client.get(url)
            assert response.status_code == 200, url
            assert len(response.content) > 1000, url
        assert "validator.swagger.io" not in page.text
        assert '"validatorUrl": null' in page.text
        # Only the listed assets are served, nothing else from the package directory.
        assert (await api.client.get("/docs/assets/__init__.py")).status_code == 404
