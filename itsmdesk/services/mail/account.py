"""The mail accounts: the IMAP mailbox mail is taken from and the SMTP server mail goes out by.

The one place both halves of mail (intake, :mod:`.intake`/:mod:`.imap_fetch`, and outgoing
notifications, :mod:`.outgoing`) read their server settings from.

Host, port, security, login, folder, sender and CA file are organisation settings
(``mail.imap.*``, ``mail.smtp.*``: declared in :mod:`itsmdesk.config`, stored and journalled
with ``records.set_setting``); passwords never are: they live in the operating system's keyring
(service ``itsmdesk``, entry ``imap:login@host:port`` / ``smtp:login@host:port``, the port the
one actually used), or for a server without a keyring in ``$ITSMDESK_MAIL_PASSWORD`` /
``$ITSMDESK_SMTP_PASSWORD``.  The keyring is asked first.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from email.utils import parseaddr
from typing import Any

from itsmdesk import config
from itsmdesk.errors import N_, ItsmError, ValidationError
from itsmdesk.services import credentials, records
from itsmdesk.services.context import SYSTEM, Actor
from itsmdesk.services.permissions import require

SECURITIES = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"imap": {"ssl": 993, "starttls": 143, "none": 143},
                 "smtp": {"ssl": 465, "starttls": 587, "none": 25}}


@dataclass(frozen=True)
class MailAccount:
    """One server's settings (``protocol`` imap or smtp); ``folder`` is the IMAP folder, ``sender``
    the SMTP From address."""

    protocol: str
    host: str = ""
    port: int = 0
    security: str = "ssl"
    user: str = ""
    folder: str = "INBOX"
    done_folder: str = ""
    cafile: str = ""
    sender: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.host)

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.protocol].get(self.security, 0)

    @property
    def keyring_entry(self) -> str:
        return f"{self.protocol}:{self.user}@{self.host}:{self.effective_port}"

    @property
    def from_address(self) -> str:
        """What mail goes out From: the sender set, else the login when it is an address,
        else ``itsmdesk@<host>``."""
        if self.sender:
            return self.sender
        if "@" in self.user:
            return self.user
        return f"itsmdesk@{self.host or 'localhost'}"


_IMAP_KEYS = {"host": config.MAIL_IMAP_HOST, "port": config.MAIL_IMAP_PORT,
              "security": config.MAIL_IMAP_SECURITY, "user": config.MAIL_IMAP_USER,
              "folder": config.MAIL_IMAP_FOLDER, "done_folder": config.MAIL_IMAP_DONE_FOLDER,
              "cafile": config.MAIL_IMAP_CAFILE}
_SMTP_KEYS = {"host": config.MAIL_SMTP_HOST, "port": config.MAIL_SMTP_PORT,
              "security": config.MAIL_SMTP_SECURITY, "user": config.MAIL_SMTP_USER,
              "sender": config.MAIL_SMTP_FROM, "cafile": config.MAIL_SMTP_CAFILE}
_KEYS = {"imap": _IMAP_KEYS, "smtp": _SMTP_KEYS}


def _mail_settings() -> dict[str, Any]:
    """Every ``mail.*`` setting, in one query."""
    from itsmdesk.models.base import Setting

    return {row.key: row.value for row in
            Setting.select(Setting.key, Setting.value).where(Setting.key.startswith("mail."))}


def account(protocol: str = "imap", stored: dict[str, Any] | None = None) -> MailAccount:
    """The account as configured (defaults where nothing was set)."""
    stored = _mail_settings() if stored is None else stored
    values: dict[str, Any] = {}
    for name, opt in _KEYS[protocol].items():
        value = stored.get(opt.key)
        value = opt.default if value is None else value
        values[name] = _port(opt.key, value) if name == "port" else str(value or "").strip()
    values["security"] = values["security"].lower() or _KEYS[protocol]["security"].default
    if protocol == "imap" and not values["folder"]:
        values["folder"] = "INBOX"
    return MailAccount(protocol, **values)


def _port(key: str, value: Any) -> int:
    text = str(value or 0).strip()
    if not text.isdigit() or int(text) > 65535:
        raise ValidationError(N_("The setting {key} is {value}; use a port number such as 587"),
                              key=key, value=text)
    return int(text)


def imap_account() -> MailAccount:
    return account("imap")


def smtp_account() -> MailAccount:
    return account("smtp")


def smtp_enabled() -> bool:
    """Whether outgoing mail is on (an SMTP server is set): one small read, as every ticket
    write asks."""
    return bool(str(records.get_setting(config.MAIL_SMTP_HOST.key) or "").strip())


def sending_account() -> MailAccount | None:
    """The SMTP account to send by (None when no server is set); a stored value that cannot
    work is refused with a sentence naming the setting."""
    acc = smtp_account()
    if not acc.configured:
        return None
    if acc.security not in SECURITIES:
        raise ValidationError(N_("The setting {key} is {value}; use starttls, ssl or none"),
                              key=config.MAIL_SMTP_SECURITY.key, value=acc.security)
    return acc


def check_account(acc: MailAccount) -> MailAccount:
    """The account cleaned up, or a sentence naming what is wrong with it."""
    acc = replace(acc, host=acc.host.strip(), user=acc.user.strip(), folder=acc.folder.strip(),
                  done_folder=acc.done_folder.strip(), cafile=acc.cafile.strip(),
                  sender=acc.sender.strip())
    if acc.security not in SECURITIES:
        raise ValidationError(N_("Connection security must be one of {choices}, not {value}"),
                              field="security", choices=", ".join(SECURITIES), value=acc.security)
    if not 0 <= acc.port <= 65535:
        raise ValidationError(N_("The port must be between 1 and 65535 (0 for the usual one), "
                                 "not {value}"), field="port", value=acc.port)
    if acc.host and any(ch.isspace() for ch in acc.host):
        raise ValidationError(N_("The server name {value} contains spaces"), field="host",
                              value=acc.host)
    if acc.protocol == "imap" and acc.host and not acc.folder:
        raise ValidationError(N_("Name the folder mail is taken from (usually INBOX)"),
                              field="folder")
    return acc


def save_account(acc: MailAccount, actor: Actor = SYSTEM) -> MailAccount:
    """Store the account's settings (one journalled setting per key, one transaction)."""
    require(actor, "settings.manage")
    acc = check_account(acc)
    data = asdict(acc)
    with records.atomic():
        for name, opt in _KEYS[acc.protocol].items():
            records.set_setting(opt.key, data[name], actor)
    return acc


def password(acc: MailAccount) -> str | None:
    """The account's password: the keyring's, else the environment's; None when neither has
    one (an account without login needs none)."""
    stored = credentials.stored_secret(acc.keyring_entry)
    if stored is not None:
        return stored
    env = config.MAIL_PASSWORD if acc.protocol == "imap" else config.SMTP_PASSWORD
    return os.environ.get(env.key) or None


def remember_password(acc: MailAccount, secret: str) -> bool:
    """Keep the password in the keyring; False when this computer has no keyring."""
    return credentials.remember_secret(acc.keyring_entry, secret)


def _own_candidates(stored: dict[str, Any]) -> list[str]:
    """The From address and the mailbox login (read as stored: a bad port does not matter
    here)."""
    keys = (config.MAIL_SMTP_FROM, config.MAIL_IMAP_USER)
    return [str(stored.get(opt.key) or "").strip() for opt in keys]


def own_domain() -> str:
    """The domain of the Message-IDs we write: the setting, else the From address's or the
    mailbox login's domain, else ``itsmdesk.invalid``."""
    stored = _mail_settings()
    domain = str(stored.get(config.MAIL_OWN_DOMAIN.key) or "").strip().lower()
    if domain:
        return domain
    for address in _own_candidates(stored):
        address = parseaddr(address)[1]
        if "@" in address:
            return address.rsplit("@", 1)[1].strip().lower()
    return "itsmdesk.invalid"


def own_addresses() -> set[str]:
    """Our own addresses (mail from them is our own coming back)."""
    out = set()
    stored = _mail_settings()
    for address in _own_candidates(stored):
        address = parseaddr(address)[1].strip().lower()  # ("Service desk <desk@x>")
        if "@" in address:
            out.add(address)
    return out


class MailServerError(ItsmError):
    """The mail server could not be reached, refused the login or the folder."""


@dataclass(frozen=True)
class MailSettingsView:
    """What the mail settings page shows."""

    imap: MailAccount
    smtp: MailAccount
    fetch_minutes: int
    imap_password_known: bool
    keyring: bool
    version: int | None  # of the IMAP host setting (a stale save conflicts)


def fetch_minutes() -> int:
    try:
        return max(0, int(records.get_setting(config.MAIL_FETCH_MINUTES.key,
                                              config.MAIL_FETCH_MINUTES.default)))
    except (TypeError, ValueError):
        return config.MAIL_FETCH_MINUTES.default


def settings_view() -> MailSettingsView:
    imap = imap_account()
    try:
        smtp = smtp_account()
    except ValidationError:  # (a stored SMTP port that is no port: the SMTP tab shows it)
        smtp = MailAccount("smtp")
    return MailSettingsView(imap, smtp, fetch_minutes(),
                            imap.configured and password(imap) is not None,
                            credentials.keyring_available(),
                            records.setting_version(config.MAIL_IMAP_HOST.key))


def save_settings(imap: MailAccount, minutes: int, new_password: str | None = None,
                  actor: Actor = SYSTEM, version: int | None = None) -> bool:
    """Save the mailbox settings and the fetch interval; a new password goes to the keyring.
    False when a password was given but this computer has no keyring to keep it."""
    require(actor, "settings.manage")
    if not 0 <= minutes <= 24 * 60:
        raise ValidationError(N_("Fetch mail every 0 to 1440 minutes (0: only on demand), not "
                                 "{value}"), field="fetch_minutes", value=minutes)
    with records.atomic():
        if version is not None:
            records.set_setting(config.MAIL_IMAP_HOST.key, imap.host.strip(), actor, version)
        imap = save_account(imap, actor)
        records.set_setting(config.MAIL_FETCH_MINUTES.key, minutes, actor)
    if new_password:
        return remember_password(imap, new_password)
    return True


# -- the SMTP settings form (views/mail/smtp_settings.py) ------------------------------------------
SMTP_FIELDS = tuple(_SMTP_KEYS)


@dataclass(frozen=True)
class SmtpForm:
    """What the SMTP settings tab shows: the values as text, their versions (a save is checked
    against them), whether a password is known, and whether this computer has a keyring."""

    values: dict[str, str]
    versions: dict[str, int | None]
    password_kept: bool
    keyring: bool


def smtp_form() -> SmtpForm:
    stored = _mail_settings()
    values = {name: "" if stored.get(opt.key) is None else str(stored[opt.key])
              for name, opt in _SMTP_KEYS.items()}
    versions = {name: records.setting_version(opt.key) for name, opt in _SMTP_KEYS.items()}
    try:
        acc = account("smtp", stored)
    except ValidationError:  # a port that is not one: the form shows it to be corrected
        acc = MailAccount("smtp")
    kept = acc.configured and password(acc) is not None
    return SmtpForm(values, versions, kept, credentials.keyring_available())


def save_smtp(values: dict[str, str], versions: dict[str, int | None] | None = None,
              new_password: str | None = None, actor: Actor = SYSTEM) -> SmtpForm:
    """Store the SMTP settings (one write, each changed setting checked against the version
    read) and, when given, the password in the keyring (never in the database)."""
    require(actor, "settings.manage")
    clean = {name: str(values.get(name, "") or "").strip() for name in SMTP_FIELDS}
    security = clean["security"].lower() or config.MAIL_SMTP_SECURITY.default
    if security not in SECURITIES:
        raise ValidationError(N_("The setting {key} is {value}; use starttls, ssl or none"),
                              key=config.MAIL_SMTP_SECURITY.key, value=clean["security"])
    port = _port(config.MAIL_SMTP_PORT.key, clean["port"])
    acc = check_account(MailAccount("smtp", host=clean["host"], port=port, security=security,
                                    user=clean["user"], sender=clean["sender"],
                                    cafile=clean["cafile"]))
    data = asdict(acc)
    stored = _mail_settings()
    with records.atomic():
        for name, opt in _SMTP_KEYS.items():
            new = data[name] or None
            if str(stored.get(opt.key) or "") != str(new or ""):
                records.set_setting(opt.key, new, actor, (versions or {}).get(name))
    if new_password and not remember_password(acc, new_password):
        raise ValidationError(N_("This computer has no keyring to keep the SMTP password "
                                 "in; set ITSMDESK_SMTP_PASSWORD where the mail is sent "
                                 "from. The other settings were saved."))
    return smtp_form()
