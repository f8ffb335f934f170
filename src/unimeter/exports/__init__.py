"""Exports: stored records streamed as JSON Lines / CSV (``service``), and the FinOps files
(FOCUS 1.2 cost rows, consumption, chargeback) as CSV / Parquet (``finops``, ``focus``)."""
