"""queue views."""
