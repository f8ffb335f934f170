"""Master-key sources: the environment, an existing 0600 file, or a freshly created one."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from unimeter.kit.crypto import InvalidKeyError, MasterKey, MissingKeyError
from unimeter.kit.keys import (
    ENV_VAR,
    KEY_FILE_NAME,
    InsecureKeyFileError,
    load_master_key,
    write_key_file,
)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Prove 0600 comes from the code, not from a friendly umask."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _write(path: Path, text: str, mode: int) -> None:
    path.write_text(text)
    path.chmod(mode)


def test_env_key_wins_and_touches_no_file(tmp_path: Path) -> None:
    key = MasterKey.generate()
    source = load_master_key(tmp_path / "data", env={ENV_VAR: key.to_b64()})
    assert source.key == key
    assert source.origin == "env"
    assert source.path is None
    assert not (tmp_path / "data").exists()


def test_env_is_read_from_the_process_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = MasterKey.generate()
    monkeypatch.setenv(ENV_VAR, key.to_b64())
    assert load_master_key(tmp_path).key == key


@pytest.mark.parametrize("value", ["hunter2-not-a-key", "   ", "crsr_" + "ab" * 30])
def test_invalid_env_key_names_the_variable_not_the_value(tmp_path: Path, value: str) -> None:
    with pytest.raises(InvalidKeyError) as excinfo:
        load_master_key(tmp_path, env={ENV_VAR: value})
    message = str(excinfo.value)
    assert ENV_VAR in message
    assert "\n" not in message
    if value.strip():
        assert value not in message
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_empty_env_falls_back_to_the_file(tmp_path: Path) -> None:
    source = load_master_key(tmp_path, env={ENV_VAR: ""})
    assert source.origin == "file"


def test_existing_file_is_loaded(tmp_path: Path) -> None:
    key = MasterKey.generate()
    _write(tmp_path / KEY_FILE_NAME, key.to_b64() + "\n", 0o600)
    source = load_master_key(tmp_path, env={})
    assert source.key == key
    assert source.origin == "file"
    assert source.path == tmp_path / KEY_FILE_NAME


def test_read_only_file_is_accepted(tmp_path: Path) -> None:
    key = MasterKey.generate()
    _write(tmp_path / KEY_FILE_NAME, key.to_b64(), 0o400)
    assert load_master_key(tmp_path, env={}).key == key


@pytest.mark.usefixtures("permissive_umask")
def test_absent_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    first = load_master_key(data_dir, env={})
    path = data_dir / KEY_FILE_NAME
    assert first.path == path
    assert _mode(path) == 0o600
    assert MasterKey.from_b64(path.read_text()) == first.key
    assert load_master_key(data_dir, env={}, create=False).key == first.key
    assert sorted(p.name for p in data_dir.iterdir()) == [KEY_FILE_NAME]


def test_created_data_dir_is_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    load_master_key(data_dir, env={})
    assert _mode(data_dir) & 0o077 == 0


def test_concurrent_creator_wins_and_both_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process publishes its key between our existence check and our link."""
    winner = MasterKey.generate()
    real_link = os.link

    def racing_link(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        _write(Path(dst), winner.to_b64(), 0o600)
        real_link(src, dst)

    monkeypatch.setattr(os, "link", racing_link)
    assert load_master_key(tmp_path, env={}).key == winner
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE_NAME]


@pytest.mark.usefixtures("permissive_umask")
def test_key_is_private_and_complete_before_it_is_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[tuple[int, str]] = []
    real_link = os.link

    def spying_link(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        published.append((_mode(Path(src)), Path(src).read_text()))
        real_link(src, dst)

    monkeypatch.setattr(os, "link", spying_link)
    key = load_master_key(tmp_path, env={}).key
    assert published == [(0o600, key.to_b64() + "\n")]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o601, 0o610, 0o666])
def test_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    key = MasterKey.generate()
    path = tmp_path / KEY_FILE_NAME
    _write(path, key.to_b64(), mode)
    with pytest.raises(InsecureKeyFileError) as excinfo:
        load_master_key(tmp_path, env={})
    message = str(excinfo.value)
    assert f"chmod 600 {path}" in message
    assert "\n" not in message
    assert key.to_b64() not in message
    assert _mode(path) == mode  # refused, not silently "fixed"


def test_invalid_file_content_is_refused_without_echo(tmp_path: Path) -> None:
    content = "crsr_" + "cd" * 30
    _write(tmp_path / KEY_FILE_NAME, content, 0o600)
    with pytest.raises(InvalidKeyError) as excinfo:
        load_master_key(tmp_path, env={})
    assert content not in str(excinfo.value)
    assert str(tmp_path / KEY_FILE_NAME) in str(excinfo.value)


def test_binary_file_content_is_refused(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    path.write_bytes(os.urandom(32) + b"\xff")
    path.chmod(0o600)
    with pytest.raises(InvalidKeyError):
        load_master_key(tmp_path, env={})


def test_missing_key_without_create(tmp_path: Path) -> None:
    with pytest.raises(MissingKeyError) as excinfo:
        load_master_key(tmp_path / "data", env={}, create=False)
    assert ENV_VAR in str(excinfo.value)
    assert not (tmp_path / "data").exists()


@pytest.mark.usefixtures("permissive_umask")
def test_write_key_file_replaces_atomically_with_0600(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    _write(path, MasterKey.generate().to_b64(), 0o644)
    before = path.stat().st_ino
    new = MasterKey.generate()
    write_key_file(path, new)
    assert _mode(path) == 0o600
    assert path.stat().st_ino != before  # a new file renamed into place, not rewritten
    assert load_master_key(tmp_path, env={}, create=False).key == new
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE_NAME]


def test_write_key_file_failure_keeps_the_old_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = MasterKey.generate()
    path = tmp_path / KEY_FILE_NAME
    _write(path, old.to_b64(), 0o600)

    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        write_key_file(path, MasterKey.generate())
    monkeypatch.undo()
    assert load_master_key(tmp_path, env={}, create=False).key == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE_NAME]
