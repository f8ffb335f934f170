"""Fixed vocabularies of the simulated organization: names, models, prices, terminals."""

from __future__ import annotations

from dataclasses import dataclass

FIRST_NAMES = (
    "Dana", "Ravi", "Mei", "Jonas", "Amara", "Lucas", "Priya", "Tomasz", "Ines", "Kofi",
    "Sofia", "Hiro", "Elena", "Mateo", "Aisha", "Noah", "Yara", "Felix", "Leila", "Omar",
    "Greta", "Sami", "Nadia", "Pablo", "Zoe", "Idris", "Hana", "Viktor", "Maya", "Theo",
)  # fmt: skip
LAST_NAMES = (
    "Ito", "Patel", "Chen", "Berg", "Okafor", "Silva", "Nair", "Kowalski", "Duarte", "Mensah",
    "Rossi", "Tanaka", "Petrova", "Garcia", "Rahman", "Muller", "Haddad", "Novak", "Kim",
    "Larsen", "Costa", "Dubois", "Singh", "Moreau", "Fischer", "Ahmed", "Lopez", "Sato",
)  # fmt: skip
COMPANY_WORDS = (
    "Northwind", "Bluefin", "Quarry", "Lumen", "Copperleaf", "Halcyon", "Tessellate", "Juniper",
)  # fmt: skip
WORKSPACE_NAMES = (
    "Platform", "Research", "Support Bots", "Data Science", "Growth", "Internal Tools",
    "Mobile", "Evaluations",
)  # fmt: skip
WORKSPACE_COLORS = ("#6C5BB9", "#E8A33D", "#3D8FE8", "#4FB286", "#D9534F", "#8E8E93")
# (name, what its usage looks like): see ``activity.py``.
API_KEY_NAMES = (
    "claude-code-team", "ci-code-review", "prod-backend", "nightly-agent", "support-bot",
    "eval-harness", "data-pipeline", "legacy-scripts", "staging", "growth-experiments",
)  # fmt: skip
TERMINALS = ("vscode", "iTerm.app", "tmux", "Apple_Terminal", "cursor", "ghostty", "pycharm")
CI_TERMINAL = "non-interactive"

# Organization roles (Console orgs) and how often a generated member has each.
ROLES = ("user", "claude_code_user", "developer", "billing", "admin")
ROLE_MIX = (("claude_code_user", 0.40), ("developer", 0.38), ("user", 0.14), ("billing", 0.08))
WORKSPACE_ROLE_OF = {
    "user": "workspace_user",
    "claude_code_user": "workspace_user",
    "developer": "workspace_developer",
    "billing": "workspace_billing",
    "admin": "workspace_admin",
}


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Prices in US cents per million tokens (integers, so a cost has at most 6 decimals)."""

    model: str
    display: str
    input: int
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int


MODELS: tuple[ModelPrice, ...] = (
    ModelPrice("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", 300, 1500, 375, 600, 30),
    ModelPrice("claude-opus-4-1-20250805", "Claude Opus 4.1", 1500, 7500, 1875, 3000, 150),
    ModelPrice("claude-haiku-4-5-20251001", "Claude Haiku 4.5", 100, 500, 125, 200, 10),
    ModelPrice("claude-sonnet-4-20250514", "Claude Sonnet 4", 300, 1500, 375, 600, 30),
)
PRICES = {m.model: m for m in MODELS}
# Relative popularity of the models, in the order of ``MODELS``.
MODEL_WEIGHTS = (0.55, 0.15, 0.22, 0.08)

# Token types of the cost report, their description label and the price field they use.
TOKEN_TYPES = (
    ("uncached_input_tokens", "Input Tokens", "input"),
    ("output_tokens", "Output Tokens", "output"),
    ("cache_read_input_tokens", "Prompt Caching Read Tokens", "cache_read"),
    ("cache_creation.ephemeral_5m_input_tokens", "Prompt Caching Write (5m) Tokens", "cache_write_5m"),
    ("cache_creation.ephemeral_1h_input_tokens", "Prompt Caching Write (1h) Tokens", "cache_write_1h"),
)  # fmt: skip
# Batch costs half; long context (200k-1M) costs double input and 1.5x output.
BATCH_DIVISOR = 2
WEB_SEARCH_CENTS = 1  # $10 per 1,000 searches
CODE_EXECUTION_CENTS_PER_HOUR = 5  # $0.05 per container hour


def price_cents_per_mtok(
    model: str, field: str, *, service_tier: str, context_window: str
) -> tuple[int, int]:
    """(numerator, denominator) of the price in cents per million tokens: exact rationals."""
    base: int = getattr(PRICES[model], field)
    num, den = base, 1
    if context_window == "200k-1M":
        if field == "output":
            num, den = num * 3, den * 2
        else:
            num *= 2
    if service_tier == "batch":
        den *= BATCH_DIVISOR
    return num, den
