"""Diagnostics for ``[p]ai diag``: versions, endpoint probes, recent errors. Discord-free."""
