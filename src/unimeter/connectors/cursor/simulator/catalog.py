"""Static catalogue of the simulated world: models and prices, event kinds, names.

Prices are per million tokens in US dollars. They are plausible list prices, not Cursor's
contract prices (which are not public); what matters for tests is that every derived
number (event cost, spend, group spend) is computed from one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    provider: str
    input_price: float
    output_price: float
    cache_read_price: float
    cache_write_price: float
    # The Cursor Token Rate applies to third-party models (including Auto routed to one),
    # never to Cursor's own models.
    charges_token_fee: bool
    # Legacy request units for one normal-mode call.
    request_units: float
    # Relative token volume of a typical call.
    token_scale: float


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("claude-4.5-sonnet", "anthropic", 3.0, 15.0, 0.30, 3.75, True, 1.0, 1.0),
    ModelSpec("gpt-5", "openai", 1.25, 10.0, 0.125, 1.25, True, 1.0, 1.0),
    ModelSpec("composer-2", "cursor", 1.25, 10.0, 0.125, 1.25, False, 1.0, 0.8),
    ModelSpec("auto", "cursor", 1.25, 6.0, 0.25, 1.25, True, 1.0, 0.9),
    ModelSpec("claude-opus-4.6", "anthropic", 5.0, 25.0, 0.50, 6.25, True, 2.0, 1.3),
    ModelSpec("gpt-5.3-codex", "openai", 1.75, 14.0, 0.175, 1.75, True, 1.0, 1.2),
    ModelSpec("gemini-3-pro", "google", 2.0, 12.0, 0.20, 2.0, True, 1.0, 1.0),
    ModelSpec("grok-code", "xai", 0.20, 1.50, 0.02, 0.20, False, 0.5, 0.7),
)
MODEL_INDEX = {m.id: i for i, m in enumerate(MODELS)}
EXPENSIVE_MODEL = MODEL_INDEX["claude-opus-4.6"]

# Cursor Token Rate: $0.25 per million tokens = 25 micro-cents per token.
TOKEN_FEE_MICROCENTS_PER_TOKEN = 25


# Event kinds, as indices into KIND_LABELS. The Admin API returns human-readable labels.
KIND_INCLUDED = 0
KIND_USAGE_BASED = 1
KIND_USER_API_KEY = 2
KIND_ERRORED = 3
KIND_ABORTED = 4
KIND_LABELS: tuple[str, ...] = (
    "Included in Business",
    "Usage-based",
    "User API Key",
    "Errored, Not Charged",
    "Aborted, Not Charged",
)

HOSTING_TYPES: tuple[str, ...] = ("CLOUD", "SELF_HOSTED", "SELF_HOSTED_POOL", "SELF_HOSTED_MACHINE")

ROLE_OWNER = "owner"
ROLE_MEMBER = "member"
ROLE_FREE_OWNER = "free-owner"
ADMIN_ROLES = frozenset({ROLE_OWNER, ROLE_FREE_OWNER})
PAID_ROLES = frozenset({ROLE_OWNER, ROLE_MEMBER})

GROUP_NAMES: tuple[str, ...] = (
    "Platform",
    "Mobile",
    "Data",
    "Payments",
    "Growth",
    "Infrastructure",
    "Security",
    "Web",
    "Machine Learning",
    "Developer Experience",
    "Quality",
    "Support Engineering",
)

FILE_EXTENSIONS: tuple[str, ...] = (".ts", ".tsx", ".py", ".go", ".rs", ".java", ".kt", ".swift")
CLIENT_VERSIONS: tuple[str, ...] = ("2.1.4", "2.2.0", "2.2.7", "2.3.1", "2.3.5", "2.4.0")

FIRST_NAMES: tuple[str, ...] = (
    "Dana", "Lee", "Ava", "Noah", "Mia", "Liam", "Zoe", "Omar", "Ines", "Kai",
    "Sara", "Yuki", "Ravi", "Lena", "Tom", "Nora", "Ivan", "Maya", "Eli", "Aiko",
    "Hugo", "Jade", "Amir", "Rosa", "Finn", "Leah", "Arjun", "Clara", "Diego", "Hana",
    "Jonas", "Kira", "Luca", "Mila", "Nils", "Olga", "Pablo", "Quinn", "Rhea", "Sven",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Ito", "Park", "Nguyen", "Garcia", "Smith", "Kowalski", "Okafor", "Rossi", "Muller",
    "Silva", "Chen", "Haddad", "Novak", "Larsen", "Tanaka", "Petrov", "Kim", "Dubois",
    "Costa", "Singh", "Moreau", "Fischer", "Ahmed", "Lopez", "Berg", "Sato", "Ward",
)  # fmt: skip
COMPANY_WORDS: tuple[str, ...] = (
    "acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne",
    "tyrell", "cyberdyne", "soylent", "aperture", "massive", "oscorp", "wonka", "nakatomi",
)  # fmt: skip
