"""The connector registry: lookup by slug, a clear error for an unknown one, and a vendor of
a test's own registered beside the shipped ones."""

from __future__ import annotations

import subprocess
import sys
from contextlib import AbstractAsyncContextManager

import pytest

from unimeter.connectors.contract import (
    Connector,
    CredentialField,
    Credentials,
    CredentialsShapeError,
    ModelInfo,
    Product,
    ProxyRequest,
    ProxyResponse,
    Validation,
    check_credentials,
)
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.facts import FactProfile
from unimeter.connectors.registration import default_registry
from unimeter.connectors.registry import ConnectorRegistry, UnknownIntegrationError
from unimeter.connectors.simulators import SimulatorSpec
from unimeter.connectors.source import Source, StreamSpec


class Toy:
    """The smallest connector: two credential fields, no simulator."""

    slug = "toy"
    display_name = "Toy"
    workspace_term = "org"
    products: tuple[Product, ...] = (Product("toy", "Toy"),)
    credential_fields: tuple[CredentialField, ...] = (
        CredentialField("org_id", "Organisation id", secret=False),
        CredentialField("token", "Token", min_length=8),
    )
    default_base_url = "https://toy.invalid"
    proxy_prefixes: tuple[str, ...] = ("/v1/",)
    streams: tuple[StreamSpec, ...] = (StreamSpec("members", windowed=False, required=True),)
    admin_roles = frozenset({"admin"})
    analyses = frozenset({"seats"})
    simulator: SimulatorSpec | None = None
    facts = FactProfile()

    async def validate(self, credentials: Credentials, base_url: str | None) -> Validation:
        return Validation(members=0)

    def open_source(
        self, credentials: Credentials, base_url: str | None
    ) -> AbstractAsyncContextManager[Source]:
        raise NotImplementedError("this toy is never synced")

    async def proxy(
        self, credentials: Credentials, base_url: str | None, request: ProxyRequest
    ) -> ProxyResponse:
        return ProxyResponse(status=204, body=b"", headers={})

    def describe_model(self, model_id: str) -> ModelInfo:
        return ModelInfo(model_id, "toy")


def test_the_default_registry_serves_the_shipped_vendors_and_takes_a_test_vendor() -> None:
    registry = default_registry()
    assert registry.slugs() == ("cursor", "anthropic")
    assert isinstance(registry.get("cursor"), Connector)
    toy = Toy()
    registry.register(toy)
    assert registry.slugs() == ("cursor", "anthropic", "toy")
    assert registry.get("toy") is toy and "toy" in registry
    assert registry.default().slug == "cursor", "the first registered stays the default"


def test_an_unknown_slug_names_the_known_ones() -> None:
    with pytest.raises(UnknownIntegrationError) as caught:
        default_registry().get("jira")
    assert str(caught.value) == "unknown integration 'jira'; known integrations: cursor, anthropic"
    assert caught.value.known == ("cursor", "anthropic")


def test_a_slug_is_registered_once_unless_replaced() -> None:
    registry = ConnectorRegistry([Toy()])
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Toy())
    replacement = Toy()
    registry.register(replacement, replace=True)
    assert registry.all() == (replacement,)
    with pytest.raises(TypeError, match="Connector protocol"):
        registry.register(object())  # type: ignore[arg-type]


def test_overrides_replace_the_shipped_connector_of_their_slug() -> None:
    configured = CursorConnector(minute_seconds=0.05)
    registry = default_registry(configured, Toy())
    assert registry.get("cursor") is configured
    assert registry.slugs() == ("cursor", "anthropic", "toy")


def test_a_lazy_vendor_is_built_once_on_first_use_and_listed_before() -> None:
    built: list[Toy] = []

    def load() -> Connector:
        built.append(Toy())
        return built[-1]

    registry = ConnectorRegistry()
    registry.register_lazy("toy", load)
    assert registry.slugs() == ("toy",) and "toy" in registry
    assert built == [], "listing or testing a slug builds nothing"
    assert registry.get("toy") is registry.get("toy") is built[0]
    assert registry.all() == (built[0],) and len(built) == 1
    with pytest.raises(ValueError, match="already registered"):
        registry.register_lazy("toy", load)


def test_a_lazy_vendor_must_build_a_connector_of_its_slug() -> None:
    registry = ConnectorRegistry()
    registry.register_lazy("other", Toy)
    with pytest.raises(ValueError, match="registered as 'other' calls itself 'toy'"):
        registry.get("other")
    registry.register_lazy("nothing", object)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Connector protocol"):
        registry.get("nothing")


def test_asking_for_one_vendor_imports_no_other() -> None:
    """A process that meets only Cursor accounts never imports Anthropic's package (its
    client, models and mapping cost every command's start ~0.1 s)."""
    probe = (
        "import sys\n"
        "from unimeter.connectors.registration import default_registry\n"
        "registry = default_registry()\n"
        "registry.get('cursor')\n"
        "print(sorted({m.split('.')[2] for m in sys.modules"
        " if m.startswith('unimeter.connectors.') and m.count('.') > 2}))\n"
        "registry.get('anthropic')\n"
        "print('unimeter.connectors.anthropic.connector' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["['cursor']", "True"]


def test_credentials_must_have_exactly_the_declared_fields() -> None:
    fields = Toy.credential_fields
    check_credentials(fields, {"org_id": "o1", "token": "t" * 8})
    cases = [
        ({"org_id": "o1"}, "missing credential field(s): token"),
        ({"org_id": "o1", "token": "  "}, "missing credential field(s): token"),
        ({"org_id": "o1", "token": "t" * 8, "x": "1"}, "unknown credential field(s) x"),
        ({"org_id": "o1", "token": "secret"}, "token: should have at least 8 characters"),
    ]
    for credentials, message in cases:
        with pytest.raises(CredentialsShapeError) as caught:
            check_credentials(fields, credentials)
        assert str(caught.value).startswith(message)
        assert "secret" not in str(caught.value), "a value is never part of the message"
