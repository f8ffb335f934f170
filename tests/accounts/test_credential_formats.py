"""How credentials are stored: a one-field connector keeps the format stores already hold
(the bare value); several fields are an encrypted JSON object."""

from __future__ import annotations

import pytest

from tests.connectors.test_registry import Toy
from unimeter.accounts import credentials
from unimeter.connectors.contract import CredentialsShapeError
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.kit.crypto import MasterKey, decrypt, encrypt


def test_a_single_field_is_stored_as_the_bare_value_as_before() -> None:
    key, cursor = MasterKey.generate(), CursorConnector()
    # What a store written before connectors declared their fields holds.
    old = encrypt(key, "crsr_" + "1" * 64, aad="acc_1")
    assert credentials.unseal(cursor, key, old, "acc_1") == {"api_key": "crsr_" + "1" * 64}
    sealed = credentials.seal(cursor, key, {"api_key": "crsr_" + "2" * 64}, "acc_1")
    assert decrypt(key, sealed, aad="acc_1") == "crsr_" + "2" * 64


def test_several_fields_are_stored_as_json_and_read_back() -> None:
    key, toy = MasterKey.generate(), Toy()
    given = {"org_id": "org-7", "token": "t" * 12}
    sealed = credentials.seal(toy, key, given, "acc_2")
    assert "org-7" not in sealed
    assert decrypt(key, sealed, aad="acc_2") == '{"org_id":"org-7","token":"tttttttttttt"}'
    assert credentials.unseal(toy, key, sealed, "acc_2") == given


def test_a_bare_string_is_the_only_field_of_a_one_field_connector() -> None:
    assert credentials.resolve(CursorConnector(), " crsr_key_value ") == {
        "api_key": "crsr_key_value"
    }
    with pytest.raises(CredentialsShapeError, match="several credential fields"):
        credentials.resolve(Toy(), "t" * 12)
