"""A faithful local simulator of Cursor's team Admin API."""

from .app import create_app
from .config import Quirks, SimulatorConfig, default_api_key
from .faults import Fault
from .world import SimulatedCursor

__all__ = ["Fault", "Quirks", "SimulatedCursor", "SimulatorConfig", "create_app", "default_api_key"]
