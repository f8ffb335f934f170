"""Environments and integrated accounts (linked vendor workspaces)."""
