"""unimeter: a self-hostable unified usage-metering API for AI developer tools."""

__version__ = "0.1.0"
