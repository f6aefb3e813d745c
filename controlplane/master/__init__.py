"""controlplane/master."""
