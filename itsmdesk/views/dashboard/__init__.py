"""dashboard views."""
