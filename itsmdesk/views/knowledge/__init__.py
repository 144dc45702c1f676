"""knowledge views."""
