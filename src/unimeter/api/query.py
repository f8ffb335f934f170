"""Unknown query parameters are an error on every documented route, not silently ignored.

A typo (``emails[]`` where the route takes ``email``) used to return everything, as if no
filter had been given. One app-wide dependency compares the request's query keys with the
parameters the matched route declares anywhere in its dependency tree or in its query model
(``api/query_models.py``); values of declared parameters are validated where they are
parsed (Literal types reject unknown enum values).

Exempt: routes outside the OpenAPI document (the dashboard and Connect pages, which carry
their own harmless parameters), and routes that declare :func:`passthrough_query` (the proxy
hands its query string to the vendor as it is).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from .errors import ApiError
from .query_models import query_model_of


async def passthrough_query() -> None:
    """Marker dependency: this route accepts any query parameter."""


def _walk(dependant: Dependant) -> tuple[frozenset[str], bool]:
    names = {field.alias for field in dependant.query_params}
    passthrough = dependant.call is passthrough_query
    for sub in dependant.dependencies:
        sub_names, sub_passthrough = _walk(sub)
        names |= sub_names
        passthrough = passthrough or sub_passthrough
    return frozenset(names), passthrough


def declared_query(route: APIRoute) -> frozenset[str] | None:
    """The query parameters ``route`` declares; None when it takes any. (A walk over a
    handful of dependencies: cheaper than a cache keyed by an unhashable route.)"""
    if not route.include_in_schema:
        return None
    names, passthrough = _walk(route.dependant)
    model = query_model_of(route.endpoint)
    if model is not None:
        names |= model.query_names()
    return None if passthrough else names


async def reject_unknown_query(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    allowed = declared_query(route)
    if allowed is None:
        return
    unknown = sorted(set(request.query_params.keys()) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise ApiError(
            400,
            f"unknown query parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}; this route takes: {takes}",
            details={"unknown": unknown, "allowed": sorted(allowed)},
        )
