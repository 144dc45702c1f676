"""Mail from files: ``.eml`` (RFC 5322, what every mail program saves and what a mail dragged
out of Thunderbird or Outlook on the web is) and Outlook's ``.msg``.

``.msg`` is read only when the optional ``extract-msg`` package is installed (``pip install
itsmdesk[msg]``): it is GPL-licensed, so it is not a dependency of this MIT-licensed program;
without it a ``.msg`` is refused with a sentence that says how to get an ``.eml`` instead.
"""

from __future__ import annotations

from pathlib import Path

from itsmdesk.config import Settings
from itsmdesk.errors import N_, ValidationError
from itsmdesk.services.attachment_files import read_limited, safe_name
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.mail.intake import IntakeResult, take_in

MAIL_SUFFIXES = (".eml", ".msg")
# a mail file may be larger than one attachment (it carries several), within reason
MAX_MAIL_FILE = 200 * 1024 * 1024


def msg_supported() -> bool:
    try:
        import extract_msg  # noqa: F401
    except ImportError:
        return False
    return True


def msg_to_mime(path: Path, data: bytes) -> bytes:
    """An Outlook ``.msg`` as RFC 5322 bytes (or a sentence why it cannot be read)."""
    name = safe_name(str(path))
    if not msg_supported():
        raise ValidationError(N_("{name} is an Outlook .msg file, which this installation cannot "
                                 "read (it needs the optional extract-msg package); save the mail "
                                 "as .eml in Outlook or drag it from Outlook on the web instead."),
                              name=name)
    import extract_msg

    try:
        with extract_msg.openMsg(data) as message:
            return message.asEmailMessage().as_bytes()
    except Exception:  # noqa: BLE001 - not an OLE file, a damaged one, an encrypted one
        raise ValidationError(N_("{name} is not an Outlook mail that can be read (damaged, "
                                 "encrypted or not a .msg file)."), name=name) from None


def read_mail_file(path: str | Path) -> bytes:
    path = Path(path)
    if path.suffix.lower() not in MAIL_SUFFIXES:
        raise ValidationError(N_("{name} is not a mail file (.eml or .msg)"),
                              name=safe_name(str(path)))
    _name, data = read_limited(path, MAX_MAIL_FILE)
    if path.suffix.lower() == ".msg" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return msg_to_mime(path, data)
    return data


def import_file(path: str | Path, actor: Actor = SYSTEM,
                settings: Settings | None = None) -> IntakeResult:
    """Take one mail file in, exactly once (importing it again changes nothing)."""
    return take_in(read_mail_file(path), actor, settings)


def import_files(paths: list[str | Path], actor: Actor = SYSTEM
                 ) -> tuple[list[IntakeResult], list[Exception]]:
    """Several mail files, each in its own transaction: the results, and the error (a domain
    error with its sentence) of each file that could not be taken in (the others are not held
    back by it)."""
    from itsmdesk.errors import ItsmError

    results, problems = [], []
    for path in paths:
        try:
            results.append(import_file(path, actor))
        except ItsmError as exc:
            problems.append(exc)
    return results, problems
