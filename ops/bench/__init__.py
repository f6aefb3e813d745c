"""ops/bench."""
