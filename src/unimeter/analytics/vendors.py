"""What each vendor's connector declares about its usage facts, read in one place for the
analyses: which metrics come from its day totals, and the names its tools give to the
adoption figures (public keys stay the vendor's own words where its customers know them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from unimeter.runtime import Runtime

# Requests by feature that make up the feature mix, with their canonical labels.
FEATURES: tuple[tuple[str, str], ...] = (
    ("agent_requests", "agent"),
    ("chat_requests", "chat"),
    ("edit_requests", "edit"),
    ("inline_edit_requests", "inline_edit"),
    ("review_requests", "review"),
)


@dataclass(frozen=True, slots=True)
class AdoptionLabels:
    """The scorecard's names: the key of completion acceptance, and the feature mix
    (which feature metrics it adds up, each with its key in ``feature_shares``)."""

    completion_acceptance: str = "completion_acceptance"
    features: tuple[tuple[str, str], ...] = FEATURES


CANONICAL = AdoptionLabels()


def day_total_metrics(runtime: Runtime, integration: str) -> frozenset[str]:
    """The metrics an unsplit answer reads from this vendor's day totals (see
    :mod:`unimeter.connectors.facts`)."""
    found: frozenset[str] = getattr(
        runtime.connector(integration), "day_total_metrics", frozenset()
    )
    return frozenset(found)


def adoption_labels(runtime: Runtime, integrations: Iterable[str]) -> AdoptionLabels:
    """The labels of the scope's vendors when they agree, else the canonical ones."""
    found = {_labels(runtime, i) for i in set(integrations)}
    return found.pop() if len(found) == 1 else CANONICAL


def _labels(runtime: Runtime, integration: str) -> AdoptionLabels:
    declared: Mapping[str, str] | None = getattr(
        runtime.connector(integration), "adoption_labels", None
    )
    if not declared:
        return CANONICAL
    features = tuple((metric, declared.get(metric, label)) for metric, label in FEATURES)
    return AdoptionLabels(
        declared.get("completion_acceptance", CANONICAL.completion_acceptance),
        tuple(f for f in features if f[1]),
    )
