"""Tests of ops/bench."""
