"""What each vendor's connector declares about its usage facts, read in one place for the
analyses (:class:`~unimeter.connectors.facts.FactProfile`): which metrics come from its day
totals, and the adoption scorecard's keys in its words (its ``adoption.*`` labels).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from unimeter.connectors.contract import Product
from unimeter.connectors.facts import FactProfile
from unimeter.connectors.registry import UnknownIntegrationError
from unimeter.db.models import IntegratedAccount
from unimeter.runtime import Runtime

# Requests by feature, each with the neutral name of its key in the feature mix.
FEATURES = (
    ("agent_requests", "agent"), ("chat_requests", "chat"), ("edit_requests", "edit"),
    ("inline_edit_requests", "inline_edit"), ("review_requests", "review"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class AdoptionKeys:
    """The scorecard's keys: completion acceptance, and the requests by feature the feature
    mix adds up, each with its key."""

    completion_acceptance: str
    feature_mix: tuple[tuple[str, str], ...]


def adoption_keys(p: FactProfile) -> AdoptionKeys:
    mix = [(metric, p.label(f"adoption.features.{name}")) for metric, name in FEATURES]
    return AdoptionKeys(
        p.label("adoption.completion_acceptance") or "completion_acceptance",
        tuple((metric, key) for metric, key in mix if key is not None),
    )


CANONICAL = adoption_keys(FactProfile())


def day_total_metrics(runtime: Runtime, integration: str) -> frozenset[str]:
    """The metrics an unsplit answer reads from this vendor's day totals."""
    return runtime.connector(integration).facts.day_total_metrics


# Charge types a vendor may not split its charges into.
SPLIT_CHARGES = ("included_cents_e6", "usage_based_cents_e6")


def unreported_charges(runtime: Runtime, integration: str) -> frozenset[str]:
    """The charge types this vendor does not report: unknown, not zero, in its answers."""
    reported = runtime.connector(integration).facts.reported(split=False)
    return frozenset(m for m in SPLIT_CHARGES if m not in reported)


def adoption_labels(runtime: Runtime, integrations: Iterable[str]) -> AdoptionKeys:
    """The adoption keys of the scope's vendors when they agree, else the canonical ones."""
    found = {adoption_keys(runtime.connector(i).facts) for i in set(integrations)}
    return found.pop() if len(found) == 1 else CANONICAL


def products(runtime: Runtime, integration: str) -> tuple[Product, ...]:
    """The products (tools) a vendor offers; none for a vendor no longer registered."""
    try:
        return runtime.connector(integration).products
    except UnknownIntegrationError:
        return ()


def products_by_account(
    runtime: Runtime, accounts: Sequence[IntegratedAccount]
) -> dict[str, tuple[str, ...]]:
    """Each account's products: a member of an account holds a seat in each of them."""
    return {a.id: tuple(p.id for p in products(runtime, a.integration)) for a in accounts}


def product_names(runtime: Runtime) -> dict[str, str]:
    """Every registered product's name, by id."""
    return {p.id: p.name for c in runtime.registry.all() for p in c.products}


def estimated_charges(runtime: Runtime, integration: str) -> frozenset[str]:
    """The products whose charges this vendor estimates rather than bills."""
    try:
        return runtime.connector(integration).facts.estimated_charges
    except UnknownIntegrationError:
        return frozenset()
