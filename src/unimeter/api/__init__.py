"""The HTTP API: platform, unified usage metering and proxy routes (``unimeter serve``)."""
