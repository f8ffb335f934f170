"""The last ``ETag`` Cursor gave for each (key, endpoint, query), so that a re-read of an
unchanged range costs a 304 and no rate budget (cursor-api.md §1.8: 304s do not count).

A 304 tells the reader "what you stored from the last 200 is still current", so an entry
is only worth keeping once that 200's records are in the store: readers ``remember`` after
the engine took the batch (it asks for the next one only after committing), never before.
With each ETag the reader keeps the little it needs to walk on past a 304 without a body
(a listing's total, say, to know whether there is a next page).

One cache per stream of a source; the engine keeps each stream's between runs, per
account, beside the stream's watermark (the source's ``restore`` and ``memory``), so a 304
only ever stands for rows this account's store holds. Keyed by the key's hash (never the
key), the base URL, the path and the literal query. Bounded: the oldest entries go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Per stream: a window's pages, over a few years of 30-day windows, fit many times over.
MAX_ENTRIES = 2_000

EtagKey = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class Entry:
    etag: str
    meta: Mapping[str, Any] = field(default_factory=dict)


def etag_key(key_id: str, base_url: str, path: str, params: Mapping[str, object]) -> EtagKey:
    """Cursor keys its cache on the literal query string: so do we (sorted, for stability)."""
    query = "&".join(f"{k}={params[k]}" for k in sorted(params))
    return (key_id, base_url, path, query)


class EtagCache:
    """Thread-safe, bounded map of request identity to the last ETag seen for it."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[EtagKey, Entry] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: EtagKey) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def remember(self, key: EtagKey, etag: str | None, meta: Mapping[str, Any]) -> None:
        with self._lock:
            if etag is None:
                # No ETag on this answer: whatever an older one said is stale now.
                self._entries.pop(key, None)
                return
            self._entries[key] = Entry(etag, dict(meta))
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def forget(self, key: EtagKey) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def export(self) -> list[list[Any]]:
        """The entries as JSON-able rows, oldest first (``load`` reads them back)."""
        with self._lock:
            return [[*key, e.etag, dict(e.meta)] for key, e in self._entries.items()]

    @classmethod
    def load(cls, rows: object) -> EtagCache:
        """A cache from ``export``'s rows; anything unreadable is dropped (a 200 then)."""
        cache = cls()
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, list) and len(row) == 6 and all(isinstance(v, str) for v in row[:5]):
                key_id, base_url, path, query, etag, meta = row
                cache.remember((key_id, base_url, path, query), etag,
                               meta if isinstance(meta, dict) else {})  # fmt: skip
        return cache

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
