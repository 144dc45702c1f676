"""availability views."""
