"""releases views."""
