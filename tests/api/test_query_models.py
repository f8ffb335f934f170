"""Query parameters read as one model (api/query_models.py) mean what FastAPI's own
parameters meant: the last of a repeated value, every value of a list, defaults, a 400
naming each bad parameter, the documented parameters in the OpenAPI document, and the
hidden spellings accepted but not documented."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import Field

from unimeter.api import errors
from unimeter.api.query import reject_unknown_query
from unimeter.api.query_models import ModelQueryRoute, QueryModel, takes
from unimeter.app import create_app


class Things(QueryModel):
    kind: Literal["a", "b"] = "a"
    limit: int = Field(10, ge=1, le=100, description="How many")
    names: list[str] | None = Field(None, alias="names[]")
    names_plain: list[str] | None = Field(None, alias="names")
    since: str | None = None

    undocumented: ClassVar[frozenset[str]] = frozenset({"names"})


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
