"""Mapped imports from other tools' CSV exports."""
