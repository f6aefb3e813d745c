"""dataplane/volume/engine/ec."""
