"""The Conflicts dock (sync conflicts to decide) and the "Sync with hub" action of a replica."""
