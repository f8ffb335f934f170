"""Query parameters read as one model (api/query_models.py) mean what FastAPI's own
parameters meant: the last of a repeated value, every value of a list, defaults, a 400
naming each bad parameter, the documented parameters in the OpenAPI document, and the
hidden spellings accepted but not documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import Field

from tests.support.api import api_world
from unimeter.api import errors
from unimeter.api.query import reject_unknown_query
from unimeter.api.query_models import ModelQueryRoute, QueryModel, takes, undocumented
from unimeter.app import create_app


class Things(QueryModel):
    kind: Literal["a", "b"] = "a"
    limit: int = Field(10, ge=1, le=100, description="How many")
    names: list[str] | None = Field(None, alias="names[]")
    names_plain: list[str] | None = undocumented("names")
    since: str | None = None


def _app() -> FastAPI:
    app = FastAPI(dependencies=[Depends(reject_unknown_query)])
    errors.install(app)
    router = APIRouter(route_class=ModelQueryRoute)

    @router.get("/things")
    @takes(Things)
    async def things(request: Request) -> dict[str, Any]:
        return Things.parse(request).model_dump()

    app.include_router(router)
    return app


async def _get(query: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(f"/things?{query}")


async def test_values_defaults_and_lists() -> None:
    empty = await _get("")
    assert empty.json() == {"kind": "a", "limit": 10, "names": None, "names_plain": None,
                            "since": None}  # fmt: skip
    given = await _get("kind=a&kind=b&limit=5&names[]=x&names[]=y&names=z&since=")
    assert given.status_code == 200, given.text
    # The last of a repeated scalar (as Starlette's and FastAPI's get), every list value,
    # and an empty string is a value, not an absence.
    assert given.json() == {"kind": "b", "limit": 5, "names": ["x", "y"], "names_plain": ["z"],
                            "since": ""}  # fmt: skip


async def test_each_bad_parameter_is_named_in_one_400() -> None:
    response = await _get("kind=c&limit=0")
    assert response.status_code == 400
    body = response.json()
    locations = [failure["location"] for failure in body["details"]["failures"]]
    assert locations == ["query.kind", "query.limit"], body
    assert "query.limit: Input should be greater than or equal to 1" in body["message"]


async def test_unknown_parameters_are_still_refused() -> None:
    response = await _get("nmaes[]=x")
    assert response.status_code == 400
    assert "nmaes[]" in response.json()["message"]
    assert "names[]" in response.json()["message"]  # what the route takes


def test_the_documented_parameters_are_in_the_openapi_document() -> None:
    operation = _app().openapi()["paths"]["/things"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {"kind", "limit", "names[]", "since"}  # not the hidden one
    limit = parameters["limit"]
    assert limit["in"] == "query" and limit["required"] is False
    assert limit["description"] == "How many"
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)
    assert parameters["kind"]["schema"]["enum"] == ["a", "b"]


def test_routes_that_read_their_own_token_document_it() -> None:
    """The users and usage pages read the token and the account themselves
    (api/deps.py account_read): the document still says both are required."""
    document = create_app().openapi()
    schemes = document["components"]["securitySchemes"]
    for path in ("/unified/usage-metering/users", "/unified/usage-metering/usage"):
        operation = document["paths"][path]["get"]
        [requirement] = operation["security"]
        assert (
            set(requirement) <= set(schemes)
            and schemes[next(iter(requirement))]["scheme"] == "bearer"
        )
        account = next(p for p in operation["parameters"] if p["name"] == "integrated_account_id")
        assert account["required"] is True and account["in"] == "query"


async def test_the_token_and_the_account_are_answered_before_bad_parameters(
    database_url: str, data_dir: Path
) -> None:
    """As for routes that read the account through a dependency: a caller without a valid
    token, or without the account, hears that first, not which parameters were wrong."""
    async with api_world(database_url, data_dir, synced=False) as api:
        mine, theirs = api.accounts["default"], api.accounts["other"]
        for path in ("/unified/usage-metering/users", "/unified/usage-metering/usage"):
            query = {"integrated_account_id": mine, "limit": "0"}
            anonymous = await api.client.get(path, params=query)
            assert anonymous.status_code == 401, anonymous.text
            wrong_token = await api.client.get(
                path, params=query, headers={"Authorization": "Bearer unimeter_nope"}
            )
            assert wrong_token.status_code == 401, wrong_token.text
            elsewhere = await api.get(path, **{**query, "integrated_account_id": theirs})
            assert elsewhere.status_code == 404, elsewhere.text
            bad = await api.get(path, **query)
            assert bad.status_code == 400 and "query.limit" in bad.json()["message"], bad.text
            # Without a usable account id, the parameters are all that can be answered.
            no_account = await api.client.get(path, params={"limit": "0"})
            assert no_account.status_code == 400, no_account.text
            assert "integrated_account_id" in no_account.json()["message"]
