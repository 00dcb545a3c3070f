"""The labs lane of the fixture."""
