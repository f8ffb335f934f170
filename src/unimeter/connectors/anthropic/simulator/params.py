"""Query-string parsing with Anthropic's 400s: limits, bracket arrays, dates, booleans."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

from .errors import bad_request

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Query:
    """The query string of a request; repeated keys are kept (``group_by[]=a&group_by[]=b``)."""

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self.items = list(items)
        self._first: dict[str, str] = {}
        for k, v in self.items:
            self._first.setdefault(k, v)

    @classmethod
    def of(cls, mapping: Mapping[str, str]) -> Query:
        return cls(list(mapping.items()))

    def get(self, name: str) -> str | None:
        return self._first.get(name)

    def array(self, name: str) -> list[str]:
        """Values of ``name[]`` (the documented form) and of a bare ``name``, in order."""
        return [v for k, v in self.items if k in (f"{name}[]", name)]

    def limit(self, default: int, maximum: int) -> int:
        raw = self.get("limit")
        if raw is None or raw == "":
            return default
        try:
            number = int(raw)
        except ValueError as exc:
            raise bad_request("limit: Input should be a valid integer") from exc
        if not 1 <= number <= maximum:
            raise bad_request(f"limit: Input should be between 1 and {maximum}")
        return number

    def boolean(self, name: str) -> bool:
        raw = (self.get(name) or "false").lower()
        if raw not in ("true", "false", "1", "0"):
            raise bad_request(f"{name}: Input should be a valid boolean")
        return raw in ("true", "1")

    def required(self, name: str) -> str:
        raw = self.get(name)
        if raw is None or raw == "":
            raise bad_request(f"{name}: Field required")
        return raw

    def canonical(self, ignore: tuple[str, ...] = ("page", "limit", "beta")) -> str:
        """The query minus its paging keys: a token is only valid for the same query."""
        kept = sorted((k.removesuffix("[]"), v) for k, v in self.items if k not in ignore)
        return "&".join(f"{k}={v}" for k, v in kept)


def parse_day(name: str, raw: str) -> date:
    if not _DAY.match(raw):
        raise bad_request(f"{name}: Input should be a valid date in the format YYYY-MM-DD")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise bad_request(f"{name}: Input should be a valid date") from exc


def parse_timestamp(name: str, raw: str) -> int:
    """Epoch ms of an RFC 3339 timestamp (a bare date is read as its midnight UTC)."""
    text = raw.strip()
    try:
        if _DAY.match(text):
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            if "T" not in text.upper():
                raise ValueError(text)
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"{name}: Input should be a valid RFC 3339 datetime") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)
