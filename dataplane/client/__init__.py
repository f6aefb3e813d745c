"""dataplane/client."""
