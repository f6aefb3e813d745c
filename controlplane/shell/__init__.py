"""controlplane/shell."""
