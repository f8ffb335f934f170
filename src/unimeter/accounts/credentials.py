"""An account's credentials as they are stored: encrypted, in the connector's fields.

Stored format (the plaintext inside the AES-GCM envelope, the account id as associated
data):

- a connector with a single credential field stores that field's value as it is: the
  format every store written before connectors declared their fields already holds, so
  those stores need no migration;
- a connector with several fields stores them as a JSON object ``{"field": "value", …}``.

A connector that later grows from one field to several must migrate its accounts' stored
credentials (the single value becomes its first field).
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from unimeter.connectors.contract import (
    Connector,
    Credentials,
    CredentialsShapeError,
    check_credentials,
)
from unimeter.kit.crypto import MasterKey, decrypt, encrypt

# What a caller hands in: the fields by name, or (for a connector with one field) its value.
CredentialsInput = Mapping[str, str] | str


def resolve(connector: Connector, given: CredentialsInput) -> dict[str, str]:
    """The credentials by field name, checked against the connector's fields
    (CredentialsShapeError when a field is missing, blank or unknown)."""
    fields = connector.credential_fields
    if isinstance(given, str):
        if len(fields) != 1:
            names = ", ".join(f.name for f in fields)
            raise CredentialsShapeError(
                f"{connector.slug} needs several credential fields: {names}"
            )
        given = {fields[0].name: given}
    credentials = {name: value.strip() for name, value in given.items()}
    check_credentials(fields, credentials)
    return credentials


def seal(connector: Connector, key: MasterKey, credentials: Credentials, account_id: str) -> str:
    return encrypt(key, _plaintext(connector, credentials), aad=account_id)


def unseal(connector: Connector, key: MasterKey, sealed: str, account_id: str) -> dict[str, str]:
    plaintext = decrypt(key, sealed, aad=account_id)
    fields = connector.credential_fields
    if len(fields) == 1:
        return {fields[0].name: plaintext}
    loaded = orjson.loads(plaintext)
    return {str(name): str(value) for name, value in loaded.items()}


def _plaintext(connector: Connector, credentials: Credentials) -> str:
    fields = connector.credential_fields
    if len(fields) == 1:
        return credentials[fields[0].name]
    return orjson.dumps({f.name: credentials[f.name] for f in fields}).decode()
