"""The MCP server: read-only tools over the analytics, for AI assistants.

``unimeter mcp`` serves it over stdio, ``unimeter serve`` over streamable HTTP at ``/mcp``.
Either way a caller is an API token, scoped to its environment exactly like the API.
"""
