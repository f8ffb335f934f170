"""The dashboard's session cookie: signed, expiring, holding the token's id and never the
token; refused once tampered with, expired, or its token revoked."""

from __future__ import annotations

from pathlib import Path

from tests.support.api import ApiWorld, api_world
from unimeter.auth.service import authenticate, revoke_token
from unimeter.db.base import now_ms
from unimeter.web import session

HOUR_MS = 3_600_000


async def sign_in(api: ApiWorld, env: str = "default") -> str:
    response = await api.client.post("/app/login", data={"token": api.tokens[env]})
    assert response.status_code == 303
    value = api.client.cookies.get(session.COOKIE)
    assert value
    return value


async def token_id(api: ApiWorld, env: str = "default") -> str:
    principal = await authenticate(api.world.runtime, api.tokens[env])
    assert principal is not None
    return principal.token_id


def use_cookie(api: ApiWorld, value: str) -> None:
    api.client.cookies.clear()
    api.client.cookies.set(session.COOKIE, value, domain="unimeter.test", path="/app")


async def signed_in(api: ApiWorld) -> bool:
    response = await api.client.get("/app/seats")
    if response.status_code == 303:
        assert response.headers["location"] == "/app/login"
        return False
    assert response.status_code == 200
    return True


async def test_the_cookie_is_not_the_token_nor_an_api_key(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False, session_hours=2) as api:
        response = await api.client.post("/app/login", data={"token": api.tokens["default"]})
        header = response.headers["set-cookie"]
        assert "max-age=7200" in header.lower(), "the browser drops it at its expiry"
        value = api.client.cookies[session.COOKIE]
        assert api.tokens["default"] not in header and api.tokens["default"][4:20] not in value
        assert value.split(".")[1] == await token_id(api), "the token's id, not its secret"
        assert await signed_in(api)
        for path in ("/analytics/seats", "/integrated-accounts"):
            stolen = await api.client.get(path, headers={"Authorization": f"Bearer {value}"})
            assert stolen.status_code == 401, path


async def test_revoking_the_token_signs_the_browser_out(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        await sign_in(api)
        assert await signed_in(api)
        await revoke_token(api.world.runtime, await token_id(api))
        assert not await signed_in(api), "the next page load refuses the revoked token"
        assert (await api.client.get("/app/login")).status_code == 200, "the form, no loop"


async def test_an_expired_session_is_refused(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        runtime, tok = api.world.runtime, await token_id(api)
        use_cookie(api, session.issue(runtime, tok, now=now_ms() - 13 * HOUR_MS))
        assert not await signed_in(api), "12 hours by default"
        use_cookie(api, session.issue(runtime, tok, now=now_ms() - 11 * HOUR_MS))
        assert await signed_in(api)


async def test_a_tampered_or_forged_cookie_is_refused(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        genuine = await sign_in(api)
        version, tok, expires, nonce, mac = genuine.split(".")
        other = await token_id(api, "other")
        later = str(int(expires) + 1000 * HOUR_MS)
        flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
        forged = [
            ".".join((version, other, expires, nonce, mac)),  # another environment's token
            ".".join((version, tok, later, nonce, mac)),  # a longer life
            ".".join((version, tok, expires, nonce, flipped)),
            ".".join((version, tok, expires, nonce)),
            api.tokens["default"],  # the old cookie: the raw token is no session
            "x" * 5000,
        ]
        for value in forged:
            use_cookie(api, value)
            assert not await signed_in(api), value[:60]
            refused = await api.client.post("/app/logout", data={"csrf": "é" * 10})
            assert refused.status_code == 403
        use_cookie(api, genuine)
        assert await signed_in(api)


async def test_sign_out_clears_the_cookie(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        await sign_in(api)
        page = (await api.client.get("/app/seats")).text
        csrf = page.split('name="csrf" value="')[1].split('"')[0]
        out = await api.client.post("/app/logout", data={"csrf": csrf})
        assert out.status_code == 303 and session.COOKIE not in api.client.cookies
        assert not await signed_in(api)
