"""changes views."""
