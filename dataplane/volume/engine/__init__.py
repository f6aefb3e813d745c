"""dataplane/volume/engine."""
