"""AI Code Tracking payloads (cursor-api.md §4) → :class:`CommitRecord` and
:class:`AiChangeRecord`.

Cursor's words map onto neutral ones: ``tab`` lines are accepted completions, ``composer``
lines accepted agent edits, ``nonAi`` lines written by hand (null stays None: Cursor did not
say, which is not zero). A commit hash may be listed twice (amended, pushed twice), so a
commit's key adds who, where and when Cursor ingested it, and an ordinal for exact twins.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from unimeter.connectors.records import AiChangeRecord, CommitRecord

from .enterprise_models import AiChange, AiCommit

log = logging.getLogger("unimeter.cursor")

# commitSource → the neutral surface of CommitRecord.
COMMIT_SURFACES = {"ide": "ide", "cli": "cli", "cloud": "cloud_agent"}
# Before commitSource existed every tracked commit came from the IDE.
DEFAULT_SURFACE = "ide"
CHANGE_SOURCES = {"TAB": "completion", "COMPOSER": "agent"}


def iso_ms(value: str | None) -> int | None:
    """Epoch ms of an ISO timestamp (``Z`` or an offset; naive means UTC), None if absent."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        log.warning("cursor: unreadable timestamp %r", value[:40])
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


def _email(value: str | None) -> str:
    return (value or "").strip().lower()


class CommitKeys:
    """Keys of the commits of one listing walk: exact twins (same hash, person, branch and
    ingestion time) get an ordinal, in the order Cursor lists them."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def key(self, c: AiCommit) -> str:
        base = "|".join(
            (c.commit_hash or "", c.user_id or _email(c.user_email), c.branch_name or "",
             c.created_at or c.commit_ts or "")
        )  # fmt: skip
        self._seen[base] += 1
        n = self._seen[base]
        return base if n == 1 else f"{base}#{n}"


def commit_surface(source: str | None) -> str:
    if source is None:
        return DEFAULT_SURFACE
    return COMMIT_SURFACES.get(source.lower(), source.lower())


def commit_record(c: AiCommit, key: str) -> CommitRecord | None:
    committed = iso_ms(c.commit_ts) or iso_ms(c.created_at)
    if committed is None or not c.commit_hash:
        log.warning("cursor: a commit without a hash or time was skipped")
        return None
    return CommitRecord(
        key=key,
        commit_id=c.commit_hash,
        user_email=_email(c.user_email),
        repository=c.repo_name,
        branch=c.branch_name,
        is_primary_branch=c.is_primary_branch,
        surface=commit_surface(c.commit_source),
        committed_at_ms=committed,
        lines_added=c.total_lines_added,
        lines_deleted=c.total_lines_deleted,
        completion_lines_added=c.tab_lines_added,
        completion_lines_deleted=c.tab_lines_deleted,
        agent_lines_added=c.composer_lines_added,
        agent_lines_deleted=c.composer_lines_deleted,
        human_lines_added=c.non_ai_lines_added,
        human_lines_deleted=c.non_ai_lines_deleted,
        raw=c.raw,
    )


def commit_records(items: list[AiCommit], keys: CommitKeys) -> list[CommitRecord]:
    out = []
    for c in items:
        record = commit_record(c, keys.key(c))
        if record is not None:
            out.append(record)
    return out


def change_source(source: str | None) -> str:
    # A source Cursor adds later (another kind of agent edit) counts as an agent's change.
    return CHANGE_SOURCES.get((source or "").upper(), "agent")


def file_extensions(c: AiChange) -> list[str]:
    """Extensions without the dot, lower case, each once, in Cursor's order; from the file
    name when the extension is missing (privacy mode drops names, never extensions)."""
    out: list[str] = []
    for f in c.metadata or []:
        ext = f.file_extension
        if not ext and f.file_name and "." in f.file_name.rsplit("/", 1)[-1]:
            ext = f.file_name.rsplit(".", 1)[-1]
        ext = (ext or "").strip().lstrip(".").lower()
        if ext and ext not in out:
            out.append(ext)
    return out


def change_record(c: AiChange) -> AiChangeRecord | None:
    created = iso_ms(c.created_at)
    if created is None or not c.change_id:
        log.warning("cursor: an AI change without an id or time was skipped")
        return None
    return AiChangeRecord(
        key=c.change_id,
        user_email=_email(c.user_email),
        source=change_source(c.source),
        model=c.model,
        created_at_ms=created,
        lines_added=c.total_lines_added,
        lines_deleted=c.total_lines_deleted,
        file_extensions=file_extensions(c),
        raw=c.raw,
    )


def change_records(items: list[AiChange]) -> list[AiChangeRecord]:
    return [r for r in (change_record(c) for c in items) if r is not None]
