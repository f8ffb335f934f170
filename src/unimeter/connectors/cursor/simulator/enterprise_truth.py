"""Ground truth of the Enterprise APIs (AI Code Tracking, Analytics, Cloud Agents).

Mixed into :class:`~.truth.TeamTruth`. Each method returns what the endpoint serves, built by
the same code, over whole ranges (no paging) and, unless ``retention`` is set, including data
the API no longer serves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .aicode import CodeQuery, change_item, commit_item

if TYPE_CHECKING:
    from .team import SimTeam
    from .world import TeamServices


class EnterpriseTruth:
    _svc: TeamServices
    team: SimTeam

    @property
    def now_ms(self) -> int:
        return self.team.now_ms()

    def commits(
        self, start_ms: int, end_ms: int, *, user: int | None = None, retention: bool = False
    ) -> list[dict[str, Any]]:
        """AI Code Tracking commits with ``commitTs`` in ``[start, end]`` (inclusive), as
        served (newest first, repeated hashes included); ``user`` is a member index."""
        q = CodeQuery(start_ms, end_ms, user)
        found = self._svc.aicode.commits(q, self.now_ms, retention=retention)
        return [commit_item(self.team, c) for c in found]

    def changes(
        self, start_ms: int, end_ms: int, *, user: int | None = None, retention: bool = False
    ) -> list[dict[str, Any]]:
        """AI Code Tracking changes with ``createdAt`` in ``[start, end]``, newest first."""
        q = CodeQuery(start_ms, end_ms, user)
        found = self._svc.aicode.changes(q, self.now_ms, retention=retention)
        return [change_item(self.team, code, i) for code, i in found]
