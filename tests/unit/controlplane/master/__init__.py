"""Unit tests of the master core."""
