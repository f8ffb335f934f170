"""Envelope encryption: round trips, fresh randomness, and failing closed on every misuse."""

from __future__ import annotations

import base64
import string
from collections.abc import Callable

import pytest

from unimeter.kit.crypto import (
    DecryptionError,
    InvalidKeyError,
    MasterKey,
    SecretError,
    WrongKeyError,
    decrypt,
    encrypt,
    key_check,
    rewrap,
    token_key_id,
    verify_key_check,
)

SECRET = "crsr_" + "5f3c9a" * 10
AAD = "account:42"


@pytest.fixture
def master() -> MasterKey:
    return MasterKey.generate()


@pytest.fixture
def token(master: MasterKey) -> str:
    return encrypt(master, SECRET, aad=AAD)


def _flip(text: str, index: int) -> str:
    alphabet = string.ascii_letters + string.digits + "-_."
    replacement = next(c for c in alphabet if c != text[index])
    return text[:index] + replacement + text[index + 1 :]


def _key_material_forms(key: MasterKey) -> list[str]:
    raw = base64.urlsafe_b64decode(key.to_b64())
    return [
        key.to_b64(),
        key.to_b64().rstrip("="),
        base64.b64encode(raw).decode(),
        raw.hex(),
        repr(raw),
    ]


def test_round_trip(master: MasterKey, token: str) -> None:
    assert decrypt(master, token, aad=AAD) == SECRET


@pytest.mark.parametrize("plaintext", ["", "x", "ünïcødé ✓ 🔑", "a" * 10_000])
def test_round_trip_of_unusual_plaintexts(master: MasterKey, plaintext: str) -> None:
    assert decrypt(master, encrypt(master, plaintext, aad=AAD), aad=AAD) == plaintext


def test_token_format(master: MasterKey, token: str) -> None:
    version, key_id, wrapped, sealed = token.split(".")
    assert version == "v1"
    assert key_id == master.key_id == token_key_id(token)
    assert token.isascii()
    assert set(wrapped + sealed) <= set(string.ascii_letters + string.digits + "-_")
    assert len(base64.urlsafe_b64decode(wrapped + "==")) == 12 + 32 + 16
    assert len(base64.urlsafe_b64decode(sealed + "==")) == 12 + len(SECRET) + 16


def test_every_token_differs_for_the_same_plaintext(master: MasterKey) -> None:
    tokens = [encrypt(master, SECRET, aad=AAD) for _ in range(50)]
    wrapped = {t.split(".")[2] for t in tokens}
    sealed = {t.split(".")[3] for t in tokens}
    nonces = {base64.urlsafe_b64decode(s + "==")[:12] for s in sealed}
    assert len(wrapped) == len(sealed) == len(nonces) == len(tokens)


def test_tampering_with_any_character_is_detected(master: MasterKey, token: str) -> None:
    for index in range(len(token)):
        with pytest.raises(DecryptionError):
            decrypt(master, _flip(token, index), aad=AAD)


@pytest.mark.parametrize("segment", [0, 1, 2, 3])
def test_tampering_with_each_segment_is_detected(
    master: MasterKey, token: str, segment: int
) -> None:
    parts = token.split(".")
    parts[segment] = _flip(parts[segment], len(parts[segment]) // 2)
    with pytest.raises(DecryptionError):
        decrypt(master, ".".join(parts), aad=AAD)


def test_swapping_segments_between_tokens_is_detected(master: MasterKey, token: str) -> None:
    other = encrypt(master, "another secret", aad=AAD).split(".")
    mine = token.split(".")
    for spliced in ([*mine[:2], other[2], mine[3]], [*mine[:3], other[3]]):
        with pytest.raises(DecryptionError):
            decrypt(master, ".".join(spliced), aad=AAD)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        SECRET,
        "v1",
        "v1...",
        "v2.abcdef01.AAAA.AAAA",
        "v1.ABCDEF01.AAAA.AAAA",
        "v1.abcdef01.AAAA.AAAA.AAAA",
        "v1.abcdef01.A+/=.AAAA",
        "v1.abcdef01. AAAA.AAAA",
        "v1.abcdef01.AAAA.AAAA\n",
    ],
)
def test_garbage_is_rejected_never_returned(master: MasterKey, garbage: str) -> None:
    with pytest.raises(DecryptionError):
        decrypt(master, garbage, aad=AAD)


def test_truncated_token_is_rejected(master: MasterKey, token: str) -> None:
    for cut in (1, 4, 20, len(token) // 2):
        with pytest.raises(DecryptionError):
            decrypt(master, token[:-cut], aad=AAD)


def test_padding_or_non_canonical_base64_is_rejected(master: MasterKey, token: str) -> None:
    with pytest.raises(DecryptionError):
        decrypt(master, token + "=", aad=AAD)
    # 12 + 3 + 16 = 31 bytes: the last base64 char carries 4 unused bits. A lenient decoder
    # would ignore a change there and accept a second spelling of the same token.
    short = encrypt(master, "abc", aad=AAD)
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    last = alphabet.index(short[-1])
    assert last % 16 == 0
    same_bytes = short[:-1] + alphabet[last + 1]
    assert base64.urlsafe_b64decode(same_bytes.split(".")[3] + "==") == base64.urlsafe_b64decode(
        short.split(".")[3] + "=="
    )
    assert decrypt(master, short, aad=AAD) == "abc"
    with pytest.raises(DecryptionError):
        decrypt(master, same_bytes, aad=AAD)


def test_wrong_aad_is_rejected(master: MasterKey, token: str) -> None:
    for aad in ("account:43", "account:42 ", "ACCOUNT:42", "account:4"):
        with pytest.raises(DecryptionError) as excinfo:
            decrypt(master, token, aad=aad)
        assert not isinstance(excinfo.value, WrongKeyError)


def test_empty_aad_is_refused(master: MasterKey, token: str) -> None:
    with pytest.raises(ValueError):
        encrypt(master, SECRET, aad="")
    with pytest.raises(ValueError):
        decrypt(master, token, aad="")


def test_wrong_master_key_is_reported_as_such(token: str) -> None:
    other = MasterKey.generate()
    with pytest.raises(WrongKeyError) as excinfo:
        decrypt(other, token, aad=AAD)
    assert other.key_id in str(excinfo.value)
    assert token_key_id(token) in str(excinfo.value)


def test_wrong_key_with_a_forged_key_id_still_fails(master: MasterKey, token: str) -> None:
    other = MasterKey.generate()
    forged = ".".join(["v1", other.key_id, *token.split(".")[2:]])
    with pytest.raises(DecryptionError):
        decrypt(other, forged, aad=AAD)


def test_rewrap_moves_the_token_to_the_new_key(master: MasterKey, token: str) -> None:
    new = MasterKey.generate()
    moved = rewrap(token, aad=AAD, old=master, new=new)
    assert token_key_id(moved) == new.key_id
    assert decrypt(new, moved, aad=AAD) == SECRET
    assert moved.split(".")[3] == token.split(".")[3]  # the sealed secret is carried over
    with pytest.raises(WrongKeyError):
        decrypt(master, moved, aad=AAD)
    forged = ".".join(["v1", master.key_id, *moved.split(".")[2:]])
    with pytest.raises(DecryptionError):
        decrypt(master, forged, aad=AAD)


def test_rewrap_fails_closed(master: MasterKey, token: str) -> None:
    new = MasterKey.generate()
    with pytest.raises(WrongKeyError):
        rewrap(token, aad=AAD, old=new, new=master)
    with pytest.raises(DecryptionError):
        rewrap(token, aad="account:43", old=master, new=new)
    tampered = token[:-3] + _flip(token, len(token) - 3)[-3:]
    with pytest.raises(DecryptionError):
        rewrap(tampered, aad=AAD, old=master, new=new)


def test_key_check_accepts_the_right_key_only(master: MasterKey) -> None:
    check = key_check(master)
    verify_key_check(master, check)
    verify_key_check(MasterKey.from_b64(master.to_b64()), check)
    with pytest.raises(WrongKeyError):
        verify_key_check(MasterKey.generate(), check)


def test_key_check_rejects_forged_and_malformed_checks(master: MasterKey) -> None:
    other = MasterKey.generate()
    forged = ".".join(["kc1", master.key_id, key_check(other).split(".")[2]])
    with pytest.raises(WrongKeyError):
        verify_key_check(master, forged)
    for malformed in ("", "kc1", key_check(master) + "A", "kc2" + key_check(master)[3:]):
        with pytest.raises(SecretError):
            verify_key_check(master, malformed)


def test_master_key_b64_round_trip_in_both_alphabets(master: MasterKey) -> None:
    raw = base64.urlsafe_b64decode(master.to_b64())
    assert len(raw) == 32
    for text in (
        master.to_b64(),
        master.to_b64().rstrip("="),
        base64.b64encode(raw).decode(),
        f"  {master.to_b64()}\n",
    ):
        assert MasterKey.from_b64(text) == master


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "not base64!",
        base64.b64encode(b"\x01" * 31).decode(),
        base64.b64encode(b"\x01" * 33).decode(),
        base64.b64encode(b"\x01" * 32).decode() + "AAAA",
        "crsr_" + "a" * 40,
    ],
)
def test_invalid_master_keys_are_rejected_without_echo(bad: str) -> None:
    with pytest.raises(InvalidKeyError) as excinfo:
        MasterKey.from_b64(bad)
    message = str(excinfo.value)
    assert "\n" not in message
    if bad.strip():
        assert bad.strip() not in message


def test_master_key_from_wrong_length_bytes_is_rejected() -> None:
    with pytest.raises(InvalidKeyError):
        MasterKey(b"\x00" * 16)


def test_key_id_is_public_and_stable(master: MasterKey) -> None:
    assert len(master.key_id) == 8
    assert set(master.key_id) <= set("0123456789abcdef")
    assert MasterKey.from_b64(master.to_b64()).key_id == master.key_id
    assert MasterKey.generate().key_id != master.key_id


def test_repr_and_str_hide_key_material(master: MasterKey) -> None:
    for shown in (repr(master), str(master), f"{master}", repr([master])):
        assert master.key_id in shown
        for form in _key_material_forms(master):
            assert form not in shown


def test_tokens_reveal_neither_plaintext_nor_key(master: MasterKey, token: str) -> None:
    assert SECRET not in token
    assert SECRET[5:25] not in token
    assert base64.urlsafe_b64encode(SECRET.encode()).decode()[:20] not in token
    for form in _key_material_forms(master):
        assert form not in token


def test_error_messages_reveal_nothing(master: MasterKey, token: str) -> None:
    other = MasterKey.generate()
    failures: list[Callable[[], object]] = [
        lambda: decrypt(other, token, aad=AAD),
        lambda: decrypt(master, token, aad="account:43"),
        lambda: decrypt(master, _flip(token, len(token) - 1), aad=AAD),
        lambda: decrypt(master, SECRET, aad=AAD),
        lambda: verify_key_check(other, key_check(master)),
        lambda: rewrap(token, aad=AAD, old=other, new=master),
    ]
    for failure in failures:
        with pytest.raises(SecretError) as excinfo:
            failure()
        message = str(excinfo.value)
        assert message and "\n" not in message
        assert SECRET not in message
        assert token not in message
        for key in (master, other):
            for form in _key_material_forms(key):
                assert form not in message
        assert excinfo.value.__cause__ is None
        assert excinfo.value.__suppress_context__ or excinfo.value.__context__ is None
