"""Parsing a directory upload (CSV or JSON) into effective-dated entries, or into a list of
line-numbered errors. Nothing is stored unless the whole upload is valid.

An entry may list ``aliases``: the person's other emails (as other vendors' workspaces know
them), ``;``-separated in CSV, a list in JSON. People are grouped across accounts by their
primary email, so an alias belongs to one person only: it may be neither another entry's
email nor another person's alias.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

REQUIRED = ("email", "name", "team", "cost_center", "status")
OPTIONAL = ("valid_from", "valid_to", "aliases")
MAX_ALIASES = 20
STATUSES = ("active", "offboarded")
MAX_ERRORS = 50  # reported per upload; the rest are counted


@dataclass(frozen=True, slots=True)
class Entry:
    line: int
    email: str
    name: str | None
    team: str | None
    cost_center: str | None
    status: str
    valid_from: dt.date | None  # first day, inclusive; None: since always
    valid_to: dt.date | None  # last day, inclusive; None: still valid
    aliases: tuple[str, ...] = ()  # the person's other emails, lower case


class DirectoryError(ValueError):
    def __init__(self, errors: list[tuple[int, str]], total: int | None = None) -> None:
        self.errors = errors[:MAX_ERRORS]
        self.total = total if total is not None else len(errors)
        more = (
            f" (and {self.total - len(self.errors)} more)" if self.total > len(self.errors) else ""
        )
        first = "; ".join(f"line {n}: {message}" for n, message in self.errors[:3])
        super().__init__(f"{self.total} problem(s) in the directory{more}: {first}")


def parse(body: bytes, content_type: str) -> list[Entry]:
    """Entries of a CSV (header on line 1) or JSON (a list of objects, or ``{"entries":
    [...]}``; entry *n* is "line" *n*) upload; DirectoryError lists what is wrong."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DirectoryError([(1, f"not UTF-8 text (byte {exc.start})")]) from None
    parsed = _json_records(text) if "json" in content_type else _csv_records(text)
    records = list(parsed)
    entries, errors = [], []
    for line, record in records:
        try:
            entries.append(_entry(line, record))
        except ValueError as exc:
            errors.append((line, str(exc)))
    errors += _overlaps(entries)
    errors += _alias_clashes(entries)
    if errors:
        raise DirectoryError(sorted(errors))
    if not entries:
        raise DirectoryError([(1, "no entries")])
    return entries


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise DirectoryError([(1, f"no CSV header: {exc or 'empty upload'}")]) from None
    _check_columns(header)
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield line, {"__error__": f"{len(row)} fields, the header has {len(header)}"}
                continue
            yield line, dict(zip(header, row, strict=True))
    except csv.Error as exc:
        raise DirectoryError([(reader.line_num, f"unreadable CSV: {exc}")]) from None


def _json_records(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DirectoryError([(exc.lineno, f"invalid JSON: {exc.msg}")]) from None
    if isinstance(data, dict) and isinstance(data.get("entries"), list):
        data = data["entries"]
    if not isinstance(data, list):
        raise DirectoryError([(1, 'expected a list of entries or {"entries": [...]}')])
    keys = {str(k).lower() for item in data if isinstance(item, dict) for k in item}
    _check_columns(sorted(keys) if data else list(REQUIRED))
    for n, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            yield n, {"__error__": "an entry must be an object"}
        else:
            yield n, {str(k).lower(): v for k, v in item.items()}


def _check_columns(header: Iterable[str]) -> None:
    present = set(header)
    missing = [c for c in REQUIRED if c not in present]
    if missing:
        raise DirectoryError([(1, f"missing column(s): {', '.join(missing)}")])
    unknown = sorted(present - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise DirectoryError([(1, f"unknown column(s): {', '.join(unknown)}")])


def _text(record: dict[str, Any], field: str, limit: int = 255) -> str | None:
    value = record.get(field)
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise ValueError(f"{field} must be text")
    text = str(value).strip()
    if len(text) > limit:
        raise ValueError(f"{field} is longer than {limit} characters")
    return text or None


def _date(record: dict[str, Any], field: str) -> dt.date | None:
    text = _text(record, field, 40)
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{field} must be a date YYYY-MM-DD, not {text!r}") from None


def _email(text: str, field: str = "email") -> str:
    email = text.strip().lower()
    if "@" not in email or any(c.isspace() for c in email):
        raise ValueError(
            f"{field} {email!r} is not an email address" if email else f"{field} is empty"
        )
    return email


def _aliases(record: dict[str, Any], email: str) -> tuple[str, ...]:
    """The person's other emails: ``a@x; b@y`` in CSV, ``["a@x", "b@y"]`` in JSON."""
    value = record.get("aliases")
    if value is None:
        return ()
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise ValueError("aliases must be a list of emails")
        items = [v for v in value if v.strip()]
    elif isinstance(value, str):
        items = [v for v in value.split(";") if v.strip()]
    else:
        raise ValueError("aliases must be a list of emails (separated by ';' in CSV)")
    if len(items) > MAX_ALIASES:
        raise ValueError(f"at most {MAX_ALIASES} aliases per entry")
    aliases = tuple(dict.fromkeys(_email(v[:320], "alias") for v in items))
    if email in aliases:
        raise ValueError(f"alias {email!r} is the entry's own email")
    return aliases


def _entry(line: int, record: dict[str, Any]) -> Entry:
    if "__error__" in record:
        raise ValueError(record["__error__"])
    email = _email(_text(record, "email", 320) or "")
    status = (_text(record, "status", 40) or "").lower()
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    valid_from, valid_to = _date(record, "valid_from"), _date(record, "valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        raise ValueError(f"valid_to {valid_to} is before valid_from {valid_from}")
    return Entry(
        line=line, email=email, name=_text(record, "name"), team=_text(record, "team"),
        cost_center=_text(record, "cost_center"), status=status, valid_from=valid_from,
        valid_to=valid_to, aliases=_aliases(record, email),
    )  # fmt: skip


def _overlaps(entries: list[Entry]) -> list[tuple[int, str]]:
    """One error per entry whose validity overlaps an earlier entry of the same email."""
    by_email: dict[str, list[Entry]] = {}
    for e in entries:
        by_email.setdefault(e.email, []).append(e)
    errors = []
    for rows in by_email.values():
        rows.sort(key=lambda e: (e.valid_from or dt.date.min, e.line))
        for before, after in pairwise(rows):
            end = before.valid_to or dt.date.max
            if (after.valid_from or dt.date.min) <= end:
                errors.append(
                    (after.line, f"{after.email} overlaps line {before.line} (validity ranges "
                     "of one person must not overlap)")
                )  # fmt: skip
    return errors


def _alias_clashes(entries: list[Entry]) -> list[tuple[int, str]]:
    """One error per alias that names someone else: another entry's email, or an alias of
    another person (the entries of one email may repeat its aliases)."""
    primaries = {e.email: e.line for e in entries}
    owner: dict[str, tuple[str, int]] = {}
    errors = []
    for e in sorted(entries, key=lambda e: e.line):
        for alias in e.aliases:
            if alias in primaries:
                errors.append((e.line, f"alias {alias} is the email of line {primaries[alias]}"))
            elif alias in owner and owner[alias][0] != e.email:
                errors.append((e.line, f"alias {alias} is already an alias of {owner[alias][0]} "
                               f"(line {owner[alias][1]})"))  # fmt: skip
            else:
                owner.setdefault(alias, (e.email, e.line))
    return errors


def alias_map(entries: Iterable[Any]) -> dict[str, str]:
    """``{alias: primary email}`` of directory entries (parsed or stored; lower case)."""
    found: dict[str, str] = {}
    for e in entries:
        for alias in e.aliases or ():
            found.setdefault(str(alias).lower(), str(e.email).lower())
    return found
