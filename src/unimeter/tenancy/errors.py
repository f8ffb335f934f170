"""Lookups that name something absent; entry points turn them into a 404 or one CLI line."""

from __future__ import annotations


class AccountNotFoundError(Exception):
    def __init__(self, account_id: str) -> None:
        super().__init__(f"no integrated account {account_id!r}")


class EnvironmentNotFoundError(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"no environment named {name!r}")
