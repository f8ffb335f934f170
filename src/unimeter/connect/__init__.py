"""The hosted link flow: link tokens, the Connect page and the ``connect.js`` helper."""
