"""Loopback HTTP servers that stand in for upstream providers in tests and benchmarks."""
