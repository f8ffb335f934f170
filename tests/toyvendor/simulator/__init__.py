"""A small simulator of Toy AI's admin API, deterministic from a seed."""

from .app import create_app
from .world import Fault, SimulatedToy, ToyConfig

__all__ = ["Fault", "SimulatedToy", "ToyConfig", "create_app"]
