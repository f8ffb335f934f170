"""A Cursor Admin API client written only from Cursor's documentation.

It stands in for third-party code written against the real API: it knows the documented
paths, bodies, field names and paging styles, nothing about the simulator, and takes the
base URL as its only deployment setting.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

DAY_MS = 86_400_000


class DocumentedCursorClient:
    def __init__(self, api_key: str, base_url: str = "https://api.cursor.com") -> None:
        self._http = httpx.Client(base_url=base_url, auth=(api_key, ""), timeout=30)

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post(path, json=body)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._http.get(path, params=params)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def members(self) -> list[dict[str, Any]]:
        return self._get("/teams/members")["teamMembers"]  # type: ignore[no-any-return]

    def daily_usage(self, start: int, end: int, page_size: int = 100) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            body = self._post(
                "/teams/daily-usage-data",
                {"startDate": start, "endDate": end, "page": page, "pageSize": page_size},
            )
            yield from body["data"]
            if not body["pagination"]["hasNextPage"]:
                return
            page += 1

    def spend(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            body = self._post("/teams/spend", {"page": page, "pageSize": page_size})
            yield from body["teamMemberSpend"]
            if page >= body["totalPages"]:
                return
            page += 1

    def usage_events(self, start: int, end: int, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            body = self._post(
                "/teams/filtered-usage-events",
                {"startDate": start, "endDate": end, "page": page, "pageSize": page_size},
            )
            yield from body["usageEvents"]
            if not body["pagination"]["hasNextPage"]:
                return
            page += 1

    def audit_logs(self, start: str, end: str, page_size: int = 500) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            body = self._get(
                "/teams/audit-logs",
                {"startTime": start, "endTime": end, "page": page, "pageSize": page_size},
            )
            yield from body["events"]
            if not body["pagination"]["hasNextPage"]:
                return
            page += 1

    def groups(self) -> dict[str, Any]:
        return self._get("/teams/groups")

    def group(self, group_id: str) -> dict[str, Any]:
        return self._get(f"/teams/groups/{group_id}")["group"]  # type: ignore[no-any-return]
