"""Soak services: the writes of the soak app (soak core re-exports its own here)."""
