"""dataplane/volume."""
