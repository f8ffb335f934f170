"""Where the master key comes from: an environment variable, or a 0600 key file.

Precedence: ``UNIMETER_SECRET_KEY`` wins when set, so container deployments can inject the
key from their secret store and keep it off the data volume. Otherwise the key lives in
``<data_dir>/secret.key``, created on first start so a laptop install is encrypted with no
setup.

The file is treated as the crown jewel:

* It is refused when group or other hold *any* permission bit. A readable key file would
  make encryption at rest decorative, and silently fixing the mode would hide that it may
  already have been copied, so the operator is told how to fix it instead.
* The mode is checked on the opened descriptor (``fstat``), not the path, so the file read
  is the file checked.
* A new key is written to a temporary file created ``0600`` from its first syscall
  (``O_CREAT | O_EXCL``), fsynced, then published under its final name in one atomic step.
  There is never a moment when the key is world-readable or half-written, and two
  processes starting together agree on a single key: the loser of the race reads the
  winner's file.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from unimeter.kit.crypto import InvalidKeyError, MasterKey, MissingKeyError, SecretError

__all__ = [
    "ENV_VAR",
    "KEY_FILE_NAME",
    "InsecureKeyFileError",
    "KeySource",
    "load_master_key",
    "write_key_file",
]

ENV_VAR = "UNIMETER_SECRET_KEY"
KEY_FILE_NAME = "secret.key"
_FILE_MODE = 0o600
_DIR_MODE = 0o700
_MAX_KEY_FILE_BYTES = 4096


class InsecureKeyFileError(SecretError):
    """The key file is accessible to group or other users."""


@dataclass(frozen=True, slots=True)
class KeySource:
    """The loaded key and where it came from (for a startup log line without the key)."""

    key: MasterKey
    origin: Literal["env", "file"]
    path: Path | None


def load_master_key(
    data_dir: Path, *, env: Mapping[str, str] | None = None, create: bool = True
) -> KeySource:
    """Load the master key from ``UNIMETER_SECRET_KEY`` or ``<data_dir>/secret.key``.

    Raises :class:`InvalidKeyError`, :class:`InsecureKeyFileError` or (when ``create`` is
    false and no key exists) :class:`MissingKeyError`.
    """
    environ = os.environ if env is None else env
    value = environ.get(ENV_VAR, "")
    if value != "":
        return KeySource(_parse_env_key(value), "env", None)
    path = Path(data_dir) / KEY_FILE_NAME
    try:
        return KeySource(_read_key_file(path), "file", path)
    except FileNotFoundError:
        if not create:
            raise MissingKeyError(
                f"no master key: set {ENV_VAR} or create {path} (none was created)"
            ) from None
    return KeySource(_create_key_file(path), "file", path)


def write_key_file(path: Path, key: MasterKey) -> None:
    """Atomically replace ``path`` with ``key`` (mode 0600), e.g. after a key rotation."""
    path = Path(path)
    tmp = _write_temp(path, key)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _parse_env_key(value: str) -> MasterKey:
    try:
        return MasterKey.from_b64(value)
    except InvalidKeyError:
        raise InvalidKeyError(
            f"{ENV_VAR} is not a valid master key: expected the base64 encoding of 32 bytes"
        ) from None


def _read_key_file(path: Path) -> MasterKey:
    """Read and validate an existing key file; ``FileNotFoundError`` when it is absent."""
    fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InvalidKeyError(f"master key file {path} is not a regular file")
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise InsecureKeyFileError(
                f"master key file {path} is accessible to other users "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); fix it with: chmod 600 {path}"
            )
        data = handle.read(_MAX_KEY_FILE_BYTES + 1)
    try:
        return MasterKey.from_b64(data.decode("ascii"))
    except (InvalidKeyError, UnicodeDecodeError):
        raise InvalidKeyError(
            f"master key file {path} does not hold a valid key (base64 of 32 bytes)"
        ) from None


def _create_key_file(path: Path) -> MasterKey:
    """Publish a new key with ``link`` so an existing key (a concurrent starter's) wins."""
    path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    key = MasterKey.generate()
    tmp = _write_temp(path, key)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return _read_key_file(path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return key


def _write_temp(path: Path, key: MasterKey) -> Path:
    """Write ``key`` to a fresh 0600 sibling of ``path`` and fsync it; return its path."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(fd, _FILE_MODE)  # the umask may only have narrowed it; make it exact
            handle.write((key.to_b64() + "\n").encode("ascii"))
            handle.flush()
            os.fsync(fd)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _fsync_dir(directory: Path) -> None:
    """Make the new directory entry durable, so a crash cannot lose a key in use."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
