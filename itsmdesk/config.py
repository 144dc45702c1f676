"""Where the database lives and which site this workstation is.

Every setting is declared once here with its type and default.  The database URL comes from
``--db``, else ``ITSMDESK_DB``, else an SQLite file in the user's data directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "itsmdesk"
APP_AUTHOR = "itsmdesk"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR))


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'itsmdesk.db'}"


def demo_db_url() -> str:
    return f"sqlite:///{data_dir() / 'demo.db'}"


def resolve_db_url(cli_value: str | None) -> str:
    """``--db`` wins over ``ITSMDESK_DB``, which wins over the default file."""
    return cli_value or os.environ.get("ITSMDESK_DB") or default_db_url()


@dataclass(frozen=True)
class Settings:
    """Per-workstation settings that are not stored in the shared database."""

    site_code: str = ""          # empty for the central site; e.g. "OSL" for an offline site
    max_attachment_bytes: int = 10 * 1024 * 1024

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            site_code=os.environ.get("ITSMDESK_SITE", "").strip().upper(),
            max_attachment_bytes=int(os.environ.get("ITSMDESK_MAX_ATTACHMENT", 10 * 1024 * 1024)),
        )
