"""itsmdesk: a desktop IT Service Support tool (ITIL) on SQLite or PostgreSQL."""

__version__ = "0.1.0"
