"""What each vendor's connector declares about its usage facts, read in one place for the
analyses (:class:`~unimeter.connectors.facts.FactsProfile`): which metrics come from its day
totals, and the adoption scorecard's keys in its words.
"""

from __future__ import annotations

from collections.abc import Iterable

from unimeter.connectors.facts import FactsProfile
from unimeter.runtime import Runtime

CANONICAL = FactsProfile()


def profile(runtime: Runtime, integration: str) -> FactsProfile:
    return runtime.connector(integration).facts


def day_total_metrics(runtime: Runtime, integration: str) -> frozenset[str]:
    """The metrics an unsplit answer reads from this vendor's day totals."""
    return profile(runtime, integration).day_total_metrics


def adoption_labels(runtime: Runtime, integrations: Iterable[str]) -> FactsProfile:
    """The adoption keys of the scope's vendors when they agree, else the canonical ones."""
    found = {_keys(profile(runtime, i)) for i in set(integrations)}
    return found.pop() if len(found) == 1 else CANONICAL


def _keys(p: FactsProfile) -> FactsProfile:
    # Compared on the keys alone: vendors with the same words share them.
    return FactsProfile(completion_acceptance=p.completion_acceptance, feature_mix=p.feature_mix)
