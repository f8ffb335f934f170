"""Credentials: encrypted at rest with the account id as associated data, never in plaintext
anywhere, and a store that refuses to start without the right key."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.support.cli import CLI
from tests.support.databases import SQLiteDatabases
from tests.support.world import world
from unimeter.accounts.service import credentials_of, get_account, rotate_keys
from unimeter.config import Settings
from unimeter.db.base import Base
from unimeter.db.models import IntegratedAccount
from unimeter.kit.crypto import DecryptionError, MasterKey, decrypt, key_check, rewrap
from unimeter.kit.keys import write_key_file
from unimeter.runtime import StartupError, open_runtime, write_pending_key
from unimeter.sync.service import sync_account
from unimeter.tenancy.repository import save_keyring


async def _all_text(runtime: object, database_url: str) -> str:
    """Everything the database holds, as text (files for SQLite, every row for PostgreSQL)."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        return "".join(p.read_bytes().decode("latin-1") for p in path.parent.glob(path.name + "*"))
    chunks: list[str] = []
    async with runtime.db.reader() as session:  # type: ignore[attr-defined]
        for table in Base.metadata.sorted_tables:
            result = await session.execute(text(f"SELECT t::text FROM {table.name} t"))
            chunks.extend(str(row[0]) for row in result.all())
    return "\n".join(chunks)


async def test_api_key_is_never_stored_or_logged_in_plaintext(
    database_url: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with world(database_url, data_dir) as w:
        key = w.sim.keys[0]
        account_id = await w.link()
        await sync_account(w.runtime, account_id)
        w.sim.revoke(key)
        with pytest.raises(Exception, match="rejected"):
            await sync_account(w.runtime, account_id)
        account = await get_account(w.runtime, account_id)
        assert account.credentials.startswith("v1.")
        assert credentials_of(w.runtime, account) == {"api_key": key}
        assert key not in await _all_text(w.runtime, database_url)
        assert key not in repr(account.__dict__)
    assert key not in caplog.text
    assert all(key not in str(r.args) for r in caplog.records)


async def test_ciphertext_is_bound_to_its_account(database_url: str, data_dir: Path) -> None:
    async with world(database_url, data_dir) as w:
        first = await get_account(w.runtime, await w.link())
        second = await get_account(w.runtime, await w.link())
        with pytest.raises(DecryptionError):
            decrypt(w.runtime.key.key, first.credentials, aad=second.id)


async def test_key_file_is_created_private(
    sqlite_databases: SQLiteDatabases, data_dir: Path
) -> None:
    runtime = await open_runtime(
        Settings(data_dir=data_dir, database_url=sqlite_databases.create())
    )
    await runtime.close()
    key_file = data_dir / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def _linked(database_url: str, data_dir: Path) -> Settings:
    async with world(database_url, data_dir) as w:
        await w.link()
    return Settings(data_dir=data_dir, database_url=database_url)


async def test_missing_key_refuses_to_start(database_url: str, data_dir: Path) -> None:
    settings = await _linked(database_url, data_dir)
    (data_dir / "secret.key").unlink()
    with pytest.raises(StartupError, match="no secret key was found"):
        await open_runtime(settings)
    assert not (data_dir / "secret.key").exists(), "no new key may be made up"


async def test_wrong_key_refuses_to_start(
    database_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = await _linked(database_url, data_dir)
    other = MasterKey.generate()
    monkeypatch.setenv("UNIMETER_SECRET_KEY", other.to_b64())
    with pytest.raises(StartupError, match="not the one that encrypted"):
        await open_runtime(settings)
    monkeypatch.setenv("UNIMETER_SECRET_KEY", "not base64 at all!")
    with pytest.raises(StartupError) as excinfo:
        await open_runtime(settings)
    assert "not base64" not in str(excinfo.value)
    monkeypatch.delenv("UNIMETER_SECRET_KEY")
    write_key_file(data_dir / "secret.key", other)
    with pytest.raises(StartupError, match="not the one that encrypted"):
        await open_runtime(settings)


async def test_rotation_reencrypts_every_secret(database_url: str, data_dir: Path) -> None:
    async with world(database_url, data_dir) as w:
        ids = [await w.link(), await w.link()]
        old = w.runtime.key.key
        old_tokens = {a: (await get_account(w.runtime, a)).credentials for a in ids}
        new = await rotate_keys(w.runtime)
        assert new.key_id != old.key_id
        for account_id in ids:
            token = (await get_account(w.runtime, account_id)).credentials
            assert token != old_tokens[account_id]
            assert decrypt(new, token, aad=account_id) == w.sim.keys[0]
            with pytest.raises(DecryptionError):
                decrypt(old, token, aad=account_id)
    reopened = await open_runtime(Settings(data_dir=data_dir, database_url=database_url))
    try:
        assert reopened.key.key.key_id == new.key_id
    finally:
        await reopened.close()


async def test_an_interrupted_rotation_is_completed_at_start(
    database_url: str, data_dir: Path
) -> None:
    settings = await _linked(database_url, data_dir)
    runtime = await open_runtime(settings)
    # The state a crash leaves between the database commit and the key-file swap.
    old, new = runtime.key.key, MasterKey.generate()
    write_pending_key(data_dir, new)
    async with runtime.db.session() as session:
        for account in (await session.scalars(select(IntegratedAccount))).all():
            account.credentials = rewrap(account.credentials, aad=account.id, old=old, new=new)
        await save_keyring(session, new.key_id, key_check(new), 1)
    await runtime.close()
    reopened = await open_runtime(settings)
    try:
        assert reopened.key.key.key_id == new.key_id
        assert not (data_dir / "secret.key.new").exists()
    finally:
        await reopened.close()


def test_keys_rotate_command(sqlite_databases: SQLiteDatabases, data_dir: Path) -> None:
    cli = CLI(data_dir=data_dir, database_url=sqlite_databases.create())
    assert cli("accounts", "list").returncode == 0  # first start creates the key
    before = (data_dir / "secret.key").read_text()
    result = cli("keys", "rotate")
    assert result.returncode == 0, result.stderr
    after = (data_dir / "secret.key").read_text()
    assert after != before
    assert before.strip() not in result.stdout
    assert after.strip() not in result.stdout
    assert stat.S_IMODE(os.stat(data_dir / "secret.key").st_mode) == 0o600
    (data_dir / "secret.key").unlink()
    refused = cli("accounts", "list")
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: stored credentials exist but no secret key")
