"""The ``unimeter`` command line."""
