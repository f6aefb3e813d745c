"""dataplane/mount."""
