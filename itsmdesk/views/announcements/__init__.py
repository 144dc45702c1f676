"""announcements views."""
