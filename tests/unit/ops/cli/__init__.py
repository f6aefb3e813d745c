"""tests.unit.ops.cli."""
