"""A faithful local simulator of Anthropic's Admin API (organization, users, workspaces,
API keys, Claude Code analytics, Messages usage and cost reports)."""

from .app import create_app
from .config import AnthropicSimConfig, Quirks, default_admin_key
from .faults import Fault
from .world import SimulatedAnthropic

__all__ = [
    "AnthropicSimConfig",
    "Fault",
    "Quirks",
    "SimulatedAnthropic",
    "create_app",
    "default_admin_key",
]
