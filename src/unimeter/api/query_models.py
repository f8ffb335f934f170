"""A route's query parameters as one Pydantic model, validated in one call.

FastAPI validates a route's query parameters one by one, and works out for each of them,
on every request, what kind of parameter it is (a list? a model? its aliases?): for the
dozen parameters of a users page that was ~0.1 ms of a request whose SQL took less, and
for the twenty of a usage page twice that. A route that declares its parameters as a
:class:`QueryModel` with :func:`takes` reads them with ``Model.parse(request)`` instead:
the same values (the last of a repeated scalar, every value of a list), the same defaults
and the same 400 naming each bad parameter (``query.<name>``), from one validation.

The parameters stay in the OpenAPI document (:class:`ModelQueryRoute` writes them from the
model) and are known to the unknown-parameter check (``api/query.py``). A spelling accepted
but not documented is a field declared with :func:`undocumented`.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError

_LISTS = (list, tuple, set, frozenset)
_ATTRIBUTE = "__query_model__"
_UNDOCUMENTED = "x-undocumented"
Q = TypeVar("Q", bound="QueryModel")
E = TypeVar("E", bound=Callable[..., Any])


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_list(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return annotation in _LISTS or origin in _LISTS


def undocumented(alias: str) -> Any:
    """A field read from ``alias`` but left out of the OpenAPI document: another spelling
    of a documented parameter."""
    return Field(None, alias=alias, json_schema_extra={_UNDOCUMENTED: True})


class QueryModel(BaseModel):
    """Query parameters: a field's alias is its name in the query string."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # The security requirements of a route that reads the caller's credentials itself.
    security: ClassVar[tuple[str, ...]] = ()
    # Worked out once per model: which aliases are lists, and every alias.
    _lists: ClassVar[frozenset[str]] = frozenset()
    _scalars: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        aliases = {name: field.alias or name for name, field in cls.model_fields.items()}
        cls._lists = frozenset(
            aliases[name] for name, field in cls.model_fields.items() if _is_list(field.annotation)
        )
        cls._scalars = tuple(alias for alias in aliases.values() if alias not in cls._lists)

    @classmethod
    def query_names(cls) -> frozenset[str]:
        return frozenset((*cls._scalars, *cls._lists))

    @classmethod
    def parse(cls: type[Q], request: Request) -> Q:
        """The request's parameters; a 400 naming each bad one (RequestValidationError)."""
        given = request.query_params
        values: dict[str, Any] = {}
        for alias in cls._scalars:
            value = given.get(alias)
            if value is not None:
                values[alias] = value
        for alias in cls._lists:
            items = given.getlist(alias)
            if items:
                values[alias] = items
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**error, "loc": ("query", *error["loc"])} for error in exc.errors()]
            ) from None

    @classmethod
    def openapi_parameters(cls) -> list[dict[str, Any]]:
        """The documented parameters, as OpenAPI parameter objects."""
        schema = cls.model_json_schema(by_alias=True)
        if "$defs" in schema:  # a parameter object has nowhere to put them
            raise TypeError(f"{cls.__name__}: query parameters take plain types only")
        required = set(schema.get("required", ()))
        documented = []
        for alias, property_schema in schema["properties"].items():
            if property_schema.get(_UNDOCUMENTED):
                continue
            parameter = {"name": alias, "in": "query", "required": alias in required,
                         "schema": property_schema}  # fmt: skip
            if "description" in property_schema:
                parameter["description"] = property_schema["description"]
            documented.append(parameter)
        return documented


def takes(model: type[QueryModel]) -> Callable[[E], E]:
    """Mark an endpoint as reading its query parameters with ``model.parse``."""

    def mark(endpoint: E) -> E:
        setattr(endpoint, _ATTRIBUTE, model)
        return endpoint

    return mark


def query_model_of(endpoint: Callable[..., Any]) -> type[QueryModel] | None:
    model: type[QueryModel] | None = getattr(endpoint, _ATTRIBUTE, None)
    return model


class ModelQueryRoute(APIRoute):
    """An APIRoute that documents its endpoint's :class:`QueryModel` parameters."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        model = query_model_of(endpoint)
        if model is not None:
            extra = dict(kwargs.get("openapi_extra") or {})
            extra["parameters"] = [*extra.get("parameters", ()), *model.openapi_parameters()]
            if model.security:
                extra.setdefault("security", [{name: []} for name in model.security])
            kwargs["openapi_extra"] = extra
        super().__init__(path, endpoint, **kwargs)
