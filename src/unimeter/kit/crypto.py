"""Envelope encryption for customer credentials (Cursor admin API keys) at rest.

Design
------
Each secret gets its own freshly generated 256-bit data key (DEK). The secret is sealed
with the DEK (AES-256-GCM), and the DEK is sealed ("wrapped") with the master key. Why:

* Rotating the master key only re-wraps 60-byte DEKs (:func:`rewrap`); the secrets'
  ciphertexts never change, so rotation cannot corrupt a secret halfway.
* The master key encrypts only random keys, never attacker-influenced text, and each key
  seals a single message, which keeps GCM far from its nonce-reuse and volume limits.

Both layers authenticate *associated data* (AAD), e.g. the integrated account id. The AAD
is not stored in the token; the caller supplies it again on decryption. This binds a
ciphertext to its row: a token copied onto another account (by SQL injection, a bad
migration or a confused operator) fails to decrypt instead of lending that account's key.
Each layer prefixes its own domain label to the AAD so a wrapped DEK and a sealed secret
can never be swapped for one another.

Token format (ASCII, four dot-separated fields, base64url without padding)::

    v1.<key_id>.<b64(wrap_nonce[12] || wrapped_dek[32+16])>.<b64(nonce[12] || ciphertext+tag)>

``key_id`` is the first 8 hex characters of SHA-256 of the master key: it tells which key
sealed a token (and lets a wrong key be reported as such) without revealing the key.

Everything fails closed: any malformed, tampered or mismatched input raises a
:class:`SecretError` subclass whose message is one line and carries no key material or
plaintext. Nothing here ever returns its input as if it were a decrypted secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "DecryptionError",
    "InvalidKeyError",
    "MasterKey",
    "MissingKeyError",
    "SecretError",
    "WrongKeyError",
    "decrypt",
    "encrypt",
    "key_check",
    "rewrap",
    "token_key_id",
    "verify_key_check",
]

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
TOKEN_VERSION = "v1"
CHECK_VERSION = "kc1"
_WRAPPED_DEK_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES
_MAX_TOKEN_CHARS = 64 * 1024  # far above any API key; bounds work done on garbage input
_SECRET_LABEL = b"unimeter/secret/v1\x00"
_DEK_LABEL = b"unimeter/dek/v1\x00"
_CHECK_LABEL = b"unimeter/key-check/v1"
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_B64_ANY = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_KEY_ID = re.compile(r"[0-9a-f]{8}")


class SecretError(Exception):
    """Base class of every credential-handling failure; messages never contain secrets."""


class InvalidKeyError(SecretError):
    """A master key could not be parsed (wrong encoding or length)."""


class MissingKeyError(SecretError):
    """No master key is configured and creating one was not allowed."""


class DecryptionError(SecretError):
    """A token is malformed, tampered with, or bound to different associated data."""


class WrongKeyError(DecryptionError):
    """The configured master key is not the one that sealed the data.

    A subclass of :class:`DecryptionError` because it is one more reason a token cannot be
    opened; callers that only care "can I read this?" catch the parent.
    """


class MasterKey:
    """A 256-bit key-encryption key. Its repr/str show only the public :attr:`key_id`."""

    __slots__ = ("_key_id", "_material")

    def __init__(self, material: bytes) -> None:
        if not isinstance(material, bytes) or len(material) != KEY_BYTES:
            raise InvalidKeyError(f"a master key must be exactly {KEY_BYTES} bytes")
        self._material = material
        self._key_id = hashlib.sha256(material).hexdigest()[:8]

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(os.urandom(KEY_BYTES))

    @classmethod
    def from_b64(cls, text: str) -> MasterKey:
        """Parse standard or URL-safe base64, padded or not, surrounding whitespace ignored."""
        return cls(_decode_key_text(text))

    def to_b64(self) -> str:
        return base64.urlsafe_b64encode(self._material).decode("ascii")

    @property
    def key_id(self) -> str:
        return self._key_id

    def derive(self, label: str, length: int = 32) -> bytes:
        """A separate key for another purpose (e.g. signing cursors), via HKDF-SHA256.

        Distinct labels give independent keys, so no derived key can decrypt a secret.
        """
        hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label.encode())
        return hkdf.derive(self._material)

    def __repr__(self) -> str:
        return f"MasterKey(id={self._key_id})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MasterKey):
            return NotImplemented
        return hmac.compare_digest(self._material, other._material)

    def __hash__(self) -> int:
        return hash(self._key_id)


def _decode_key_text(text: str) -> bytes:
    invalid = InvalidKeyError(f"a master key must be the base64 encoding of {KEY_BYTES} bytes")
    stripped = text.strip() if isinstance(text, str) else ""
    if _B64_ANY.fullmatch(stripped) is None:
        raise invalid
    standard = stripped.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise invalid from None
    if len(raw) != KEY_BYTES:
        raise invalid
    return raw


@dataclass(frozen=True, slots=True)
class _Token:
    key_id: str
    wrapped_dek: bytes  # wrap nonce || sealed DEK
    sealed: bytes  # nonce || ciphertext+tag

    def encode(self) -> str:
        return ".".join((TOKEN_VERSION, self.key_id, _b64(self.wrapped_dek), _b64(self.sealed)))


def encrypt(master: MasterKey, plaintext: str, *, aad: str) -> str:
    """Seal ``plaintext`` under a fresh DEK bound to ``aad``; return a ``v1`` token."""
    data = _utf8(plaintext, "plaintext")
    dek = AESGCM.generate_key(bit_length=256)
    sealed = _seal(dek, data, _SECRET_LABEL + _aad_bytes(aad))
    return _Token(master.key_id, _wrap(master, dek, aad), sealed).encode()


def decrypt(master: MasterKey, token: str, *, aad: str) -> str:
    """Open a token sealed by :func:`encrypt` with the same ``master`` and ``aad``."""
    parsed = _parse(token)
    dek = _unwrap(master, parsed, aad)
    data = _open(dek, parsed.sealed, _SECRET_LABEL + _aad_bytes(aad))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptionError("decrypted secret is not valid UTF-8") from None


def rewrap(token: str, *, aad: str, old: MasterKey, new: MasterKey) -> str:
    """Re-wrap a token's DEK under ``new``; the sealed secret itself is carried over.

    The secret is authenticated (opened and discarded) first, so rotation never launders
    a corrupted or mis-bound token into a freshly signed-looking one.
    """
    parsed = _parse(token)
    dek = _unwrap(old, parsed, aad)
    _open(dek, parsed.sealed, _SECRET_LABEL + _aad_bytes(aad))
    return _Token(new.key_id, _wrap(new, dek, aad), parsed.sealed).encode()


def token_key_id(token: str) -> str:
    """The public id of the master key that sealed ``token`` (raises on malformed tokens)."""
    return _parse(token).key_id


def key_check(master: MasterKey) -> str:
    """A verifier to store next to the secrets: ``kc1.<key_id>.<b64 HMAC-SHA256>``.

    An HMAC under the key of a fixed label proves possession of the key without
    revealing anything about it, so the app can refuse to start with the wrong key.
    """
    return ".".join((CHECK_VERSION, master.key_id, _b64(_check_mac(master))))


def verify_key_check(master: MasterKey, check: str) -> None:
    """Raise :class:`WrongKeyError` unless ``check`` was made by :func:`key_check` with ``master``."""
    parts = check.split(".") if isinstance(check, str) else []
    if len(parts) != 3 or parts[0] != CHECK_VERSION or _KEY_ID.fullmatch(parts[1]) is None:
        raise DecryptionError("stored key check is malformed")
    expected = _check_mac(master)
    mac = _unb64(parts[2], len(expected))
    if parts[1] != master.key_id or not hmac.compare_digest(mac, expected):
        raise WrongKeyError(
            f"configured master key {master.key_id} is not the key that encrypted the "
            f"stored secrets (key {parts[1]})"
        )


def _check_mac(master: MasterKey) -> bytes:
    return hmac.new(master._material, _CHECK_LABEL, hashlib.sha256).digest()


def _wrap(master: MasterKey, dek: bytes, aad: str) -> bytes:
    return _seal(master._material, dek, _DEK_LABEL + _aad_bytes(aad))


def _unwrap(master: MasterKey, token: _Token, aad: str) -> bytes:
    if token.key_id != master.key_id:
        raise WrongKeyError(
            f"secret was encrypted with master key {token.key_id}, "
            f"but the configured key is {master.key_id}"
        )
    return _open(master._material, token.wrapped_dek, _DEK_LABEL + _aad_bytes(aad))


def _seal(key: bytes, data: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, data, aad)


def _open(key: bytes, blob: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError(
            "secret could not be decrypted: the token was altered or belongs to another record"
        ) from None


def _parse(token: str) -> _Token:
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS:
        raise DecryptionError("value is not an encrypted secret token")
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != TOKEN_VERSION:
        raise DecryptionError(f"value is not a {TOKEN_VERSION} encrypted secret token")
    if _KEY_ID.fullmatch(parts[1]) is None:
        raise DecryptionError("encrypted secret token has a malformed key id")
    wrapped = _unb64(parts[2], _WRAPPED_DEK_BYTES)
    sealed = _unb64(parts[3], None)
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("encrypted secret token is truncated")
    return _Token(parts[1], wrapped, sealed)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str, size: int | None) -> bytes:
    """Strict base64url: only the canonical encoding is accepted, so tokens are not malleable."""
    malformed = DecryptionError("encrypted secret token has a malformed field")
    if _B64URL.fullmatch(text) is None:
        raise malformed
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise malformed from None
    if _b64(raw) != text or (size is not None and len(raw) != size):
        raise malformed
    return raw


def _aad_bytes(aad: str) -> bytes:
    if not isinstance(aad, str) or not aad:
        raise ValueError("aad must be a non-empty string identifying the secret's owner")
    return _utf8(aad, "aad")


def _utf8(text: str, what: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not encodable as UTF-8") from None
