"""cmdb views."""
