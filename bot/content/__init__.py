"""See the module docstrings; this package re-exports nothing so imports stay cheap and acyclic."""
