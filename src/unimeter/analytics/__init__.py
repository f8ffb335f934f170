"""Answers built on the synced store: seats, consumption, and the settings they use."""
