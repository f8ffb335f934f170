"""The web dashboard at ``/app``: server-rendered pages over the analytics services."""
