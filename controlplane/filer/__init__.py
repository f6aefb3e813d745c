"""controlplane/filer."""
