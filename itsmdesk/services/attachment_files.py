"""Reading a file to attach: bounded, regular files only, and a name safe to show and to save.

* The size is checked from the open file's ``fstat`` before anything is read, and the read
  stops one byte past the limit (a file that grew meanwhile is refused too): a 1 GB file costs
  no memory, ``/dev/zero``, a FIFO, a socket or a folder is refused with a sentence (the file is
  opened non-blocking, so a FIFO with no writer does not hang).
* :func:`safe_name` keeps the last part of a ``/`` or ``\\`` path, drops control characters
  (newlines, tabs, NUL), bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE and its kin:
  ``invoice\u202Efdp.exe`` would show as ``invoiceexe.pdf``) and other invisible format
  characters, replaces the characters a Windows file name cannot hold (which covers markup's
  ``<`` and ``>``), drops leading dots (no hidden file when saved) and caps the length at
  :data:`NAME_MAX` characters, keeping the extension.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path

from itsmdesk.errors import N_, ValidationError

NAME_MAX = 120
CHUNK = 1024 * 1024
_FORBIDDEN = set('<>:"/\\|?*')


def safe_name(raw: str) -> str:
    """A file name to store and show for ``raw`` (never empty)."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join("_" if ch in _FORBIDDEN else ch for ch in name
                   if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    name = " ".join(name.split())  # (runs of spaces of any kind -> one space)
    name = name.lstrip(". ").rstrip(". ")
    if len(name) > NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[:NAME_MAX - len(ext) - 1].rstrip(". ") + "." + ext
        else:
            name = name[:NAME_MAX].rstrip(". ")
    return name or "attachment"


def read_limited(path: str | Path, limit: int) -> tuple[str, bytes]:
    """``(safe name, content)`` of a regular file of at most ``limit`` bytes; a sentence
    naming the file otherwise."""
    path = Path(path)
    name = safe_name(str(path))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError) as exc:  # (ValueError: a NUL in the path)
        raise ValidationError(N_("Cannot read {path}: {reason}"), path=name,
                              reason=getattr(exc, "strerror", None) or str(exc)) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ValidationError(N_("{name} is not a regular file (a device, a pipe or a "
                                 "folder); only files can be attached"), name=name)
    with os.fdopen(fd, "rb", buffering=0) as handle:
        if info.st_size > limit:
            raise ValidationError(N_("{name} is {size} bytes; attachments may be at most "
                                     "{max} bytes"), name=name, size=info.st_size, max=limit)
        parts: list[bytes] = []
        total = 0
        while total <= limit:
            try:
                chunk = handle.read(min(CHUNK, limit + 1 - total))
            except OSError as exc:
                raise ValidationError(N_("Cannot read {path}: {reason}"), path=name,
                                      reason=exc.strerror or str(exc)) from None
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
        if total > limit:
            raise ValidationError(N_("{name} is more than {max} bytes (it grew while being "
                                     "read); attachments may be at most {max} bytes"),
                                  name=name, max=limit)
    return name, b"".join(parts)


__all__ = ["safe_name", "read_limited", "NAME_MAX"]
