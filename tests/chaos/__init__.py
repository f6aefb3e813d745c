"""tests/chaos."""
