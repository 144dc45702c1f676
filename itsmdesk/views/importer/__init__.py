"""importer views."""
