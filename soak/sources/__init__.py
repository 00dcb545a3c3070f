"""Gate sources: one module per source kind (docs/soak.md, "Sources")."""
