"""Directory aliases: a person's other emails, parsed from CSV (``;``) and JSON (a list),
refused by line when they name someone else."""

from __future__ import annotations

import json

import pytest

from unimeter.analytics.directory import DirectoryError, alias_map, parse

HEADER = "email,name,team,cost_center,status,aliases\n"


def _errors(body: str, content_type: str = "text/csv") -> list[tuple[int, str]]:
    with pytest.raises(DirectoryError) as caught:
        parse(body.encode(), content_type)
    return caught.value.errors


def test_aliases_in_csv_and_json_resolve_to_the_primary_email() -> None:
    csv_body = HEADER + (
        "Ana@Corp.example,Ana,red,cc1,active, ana@home.example ; ANA@gh.example\n"
        "bo@corp.example,Bo,blue,cc2,active,\n"
    )
    entries = parse(csv_body.encode(), "text/csv")
    assert entries[0].aliases == ("ana@home.example", "ana@gh.example")
    assert entries[1].aliases == ()
    assert alias_map(entries) == {
        "ana@home.example": "ana@corp.example",
        "ana@gh.example": "ana@corp.example",
    }
    as_json = [
        {"email": "ana@corp.example", "name": "Ana", "team": "red", "cost_center": "cc1",
         "status": "active", "aliases": ["ana@home.example"]},
        {"email": "bo@corp.example", "name": "Bo", "team": "blue", "cost_center": "cc2",
         "status": "active"},
    ]  # fmt: skip
    parsed = parse(json.dumps(as_json).encode(), "application/json")
    assert [e.aliases for e in parsed] == [("ana@home.example",), ()]


def test_one_person_may_repeat_their_aliases_across_dated_entries() -> None:
    body = HEADER.replace("aliases", "valid_from,valid_to,aliases") + (
        "ana@corp.example,Ana,red,cc1,active,2026-01-01,2026-03-31,ana@home.example\n"
        "ana@corp.example,Ana,blue,cc1,active,2026-04-01,,ana@home.example\n"
    )
    assert [e.aliases for e in parse(body.encode(), "text/csv")] == [("ana@home.example",)] * 2


def test_bad_aliases_are_refused_by_line() -> None:
    body = HEADER + (
        "ana@corp.example,Ana,red,cc1,active,ana@home.example\n"  # line 2
        "bo@corp.example,Bo,red,cc1,active,ana@corp.example\n"  # 3: another's email
        "cy@corp.example,Cy,red,cc1,active,ana@home.example\n"  # 4: another's alias
        "di@corp.example,Di,red,cc1,active,not an email\n"  # 5
        "ed@corp.example,Ed,red,cc1,active,ed@corp.example\n"  # 6: its own email
    )
    errors = _errors(body)
    assert [line for line, _ in errors] == [3, 4, 5, 6]
    messages = dict(errors)
    assert "is the email of line 2" in messages[3]
    assert "already an alias of ana@corp.example (line 2)" in messages[4]
    assert "alias" in messages[5] and "not an email address" in messages[5]
    assert "own email" in messages[6]


def test_json_aliases_must_be_a_list_of_emails() -> None:
    entry = {"email": "ana@corp.example", "name": "Ana", "team": "red", "cost_center": "cc",
             "status": "active"}  # fmt: skip
    body = json.dumps([{**entry, "aliases": {"a": 1}}, {**entry, "email": "b@corp.example",
                                                        "aliases": [1, 2]}])  # fmt: skip
    errors = _errors(body, "application/json")
    assert [line for line, _ in errors] == [1, 2]
    assert all("list of emails" in message for _, message in errors)
