"""tests.unit.ops."""
