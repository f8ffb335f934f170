"""API tokens and the environments they open."""
