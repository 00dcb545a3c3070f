"""The production lane of the fixture."""
