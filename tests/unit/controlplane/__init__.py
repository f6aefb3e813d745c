"""Unit tests of controlplane."""
