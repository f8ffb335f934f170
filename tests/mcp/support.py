"""Helpers of the MCP tests: calling a tool with the SDK's client, comparing with the API."""

from __future__ import annotations

from typing import Any

from mcp import ClientSession
from mcp.types import TextContent

# What the API returns that a tool leaves out: tools answer one page, without a cursor.
PAGING = frozenset({"next_cursor", "prev_cursor", "result_count"})


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """The tool's structured answer; fails the test on a tool error."""
    result = await session.call_tool(tool, arguments)
    assert not result.isError, error_text(result.content)
    assert result.structuredContent is not None
    return result.structuredContent


async def refused(session: ClientSession, tool: str, **arguments: Any) -> str:
    """The message of a tool error (the call must fail as a result, not as a crash)."""
    result = await session.call_tool(tool, arguments)
    assert result.isError, result.structuredContent
    return error_text(result.content)


def error_text(content: list[Any]) -> str:
    return " ".join(c.text for c in content if isinstance(c, TextContent))


def assert_same(api: Any, tool: Any, path: str = "") -> None:
    """Everything the API said, the tool says too (a typed tool may add null fields)."""
    if isinstance(api, dict):
        assert isinstance(tool, dict), path
        for key, value in api.items():
            if key not in PAGING:
                assert key in tool, f"{path}.{key} missing"
                assert_same(value, tool[key], f"{path}.{key}")
    elif isinstance(api, list):
        assert isinstance(tool, list) and len(api) == len(tool), path
        for i, (a, t) in enumerate(zip(api, tool, strict=True)):
            assert_same(a, t, f"{path}[{i}]")
    else:
        assert api == tool, f"{path}: API {api!r} != tool {tool!r}"
