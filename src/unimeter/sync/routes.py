"""HTTP routes for sync runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from unimeter.api.deps import PrincipalDep, RuntimeDep, account_in_scope
from unimeter.api.errors import COMMON_ERRORS, not_found
from unimeter.api.pagination import ListResponse, envelope, read_cursor
from unimeter.db.keyset import slice_page
from unimeter.sync.schemas import SyncRunOut
from unimeter.sync.store import state_repository

router = APIRouter(tags=["sync runs"], responses=COMMON_ERRORS)


@router.get("/sync-runs", response_model=ListResponse[SyncRunOut])
async def list_sync_runs(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_cursor: Annotated[str | None, Query(alias="next_cursor")] = None,
    cursor: Annotated[str | None, Query(description="Alias of next_cursor")] = None,
) -> dict[str, Any]:
    """Sync runs of the environment, newest first."""
    filters = {"route": "sync-runs", "account": integrated_account_id}
    position = read_cursor(request, next_cursor or cursor, filters)
    if integrated_account_id is not None:
        await account_in_scope(runtime, principal, integrated_account_id)
    async with runtime.db.reader() as session:
        rows = await state_repository.list_runs(
            session, principal.environment_id, integrated_account_id, position, limit
        )
    page = slice_page(rows, limit, position, lambda r: [r.created_at, r.id])
    return envelope(request, page, filters, SyncRunOut.of)


@router.get("/sync-runs/{run_id}", response_model=SyncRunOut)
async def get_sync_run(run_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> SyncRunOut:
    async with runtime.db.reader() as session:
        run = await state_repository.run_in_environment(session, principal.environment_id, run_id)
    if run is None:
        raise not_found("sync run")
    return SyncRunOut.of(run)
