"""kelp_http."""
