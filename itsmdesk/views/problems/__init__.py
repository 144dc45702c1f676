"""problems views."""
