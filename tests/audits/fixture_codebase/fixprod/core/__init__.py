"""A hot path."""
