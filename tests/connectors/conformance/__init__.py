"""The connector conformance suite: the checks every connector must pass.

Each vendor plugs in through a :class:`~tests.connectors.conformance.harness.VendorHarness`
(``cursor.py``, ``toy.py``); ``test_conformance.py`` runs every check against every harness.
"""
