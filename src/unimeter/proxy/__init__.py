"""A 1-to-1 proxy to the vendor's API, with the account's credentials injected."""
