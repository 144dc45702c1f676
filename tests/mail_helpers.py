"""A real IMAP server for the mail tests: Debian's dovecot, started as a foreground process
(``dovecot -F -c CONF``) with everything in a temporary folder (its own base_dir, a passwd-file
user database, Maildir storage), listening on loopback on free ports, as the current user.

Plain IMAP, STARTTLS on the same port and IMAPS on a second one, with a self-signed certificate
made by the test (``cryptography``).  Outside CI a missing dovecot skips with a reason; in CI
(``CI=true``) it fails (``.ci/run`` installs ``dovecot-imapd``).
"""

from __future__ import annotations

import datetime as dt
import getpass
import grp
import imaplib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

USER, PASSWORD = "desk", "desk-secret"


def dovecot_binary() -> str | None:
    for candidate in (shutil.which("dovecot"), "/usr/sbin/dovecot"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def need_dovecot() -> str:
    binary = dovecot_binary()
    if binary is None:
        message = "dovecot is not installed (apt-get install dovecot-imapd)"
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must run the IMAP tests", pytrace=False)
        pytest.skip(message)
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def _has_user(pwd, name: str) -> bool:  # noqa: ANN001
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class Dovecot:
    def __init__(self, folder: Path, tls: bool = False) -> None:
        self.folder = folder
        self.binary = need_dovecot()
        self.port = free_port()
        self.ssl_port = free_port() if tls else None
        self.cert: Path | None = None
        self.process: subprocess.Popen | None = None
        self.tls = tls
        self.store: Path | None = None  # (as root: the mail, owned by the unprivileged user)

    def _config(self) -> Path:
        f = self.folder
        for sub in ("run", "state", "mail", "home"):
            (f / sub).mkdir(parents=True, exist_ok=True)
        user = getpass.getuser()
        group = grp.getgrgid(os.getgid()).gr_name
        login_user = user
        if os.getuid() == 0:  # (as root, the login processes must drop to an unprivileged user)
            import pwd

            login_user = next((u for u in ("dovenull", "nobody") if _has_user(pwd, u)), "nobody")
        uid, gid = os.getuid(), os.getgid()
        store = f
        if os.getuid() == 0:  # dovecot refuses uid 0 for mail: the mail is the login user's
            import pwd
            import tempfile

            entry = pwd.getpwnam(login_user)
            uid, gid = entry.pw_uid, entry.pw_gid
            store = self.store = Path(tempfile.mkdtemp(prefix="itsmdesk-imap-"))
            for sub in ("mail", "home"):
                (store / sub).mkdir()
                os.chown(store / sub, uid, gid)
            os.chown(store, uid, gid)
        (f / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{store}/home/{USER}::\n")
        ssl = "no"
        listeners = f"  inet_listener imap {{\n    address = 127.0.0.1\n    port = {self.port}\n  }}\n"
        if self.tls:
            self.cert, key = self_signed(f)
            ssl = f"yes\nssl_cert = <{self.cert}\nssl_key = <{key}"
            listeners += (f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = "
                          f"{self.ssl_port}\n    ssl = yes\n  }}\n")
        else:
            listeners += "  inet_listener imaps {\n    port = 0\n  }\n"
        conf = f"""
base_dir = {f}/run
state_dir = {f}/state
log_path = {f}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = {ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 0
auth_failure_delay = 0
first_valid_gid = 0
default_login_user = {login_user}
default_internal_user = {user}
default_internal_group = {group}
mail_location = maildir:{store}/mail/%u
mail_privileged_group =
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {f}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {f}/passwd
}}
service imap-login {{
{listeners}}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  mailbox Done {{
    auto = create
  }}
}}
"""
        path = f / "dovecot.conf"
        path.write_text(conf)
        return path

    def start(self) -> Dovecot:
        conf = self._config()
        self.process = subprocess.Popen([self.binary, "-F", "-c", str(conf)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                out = self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""
                log = (self.folder / "dovecot.log")
                raise RuntimeError(f"dovecot stopped: {out} "
                                   f"{log.read_text() if log.exists() else ''}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.store is not None:
            shutil.rmtree(self.store, ignore_errors=True)

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port)
        conn.login(USER, PASSWORD)
        return conn

    def append(self, *mails: bytes, folder: str = "INBOX") -> None:
        conn = self.client()
        try:
            for raw in mails:
                typ, data = conn.append(folder, None, None, raw)
                assert typ == "OK", data
        finally:
            conn.logout()

    def flags(self, folder: str = "INBOX") -> dict[bytes, bytes]:
        """Message-ID header line -> flags, of every mail in the folder."""
        conn = self.client()
        try:
            conn.select(folder, readonly=True)
            typ, data = conn.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            out = {}
            for item in data:
                if isinstance(item, tuple):
                    out[item[1].strip()] = item[0]
            return out
        finally:
            conn.logout()

    def count(self, folder: str = "INBOX") -> int:
        conn = self.client()
        try:
            typ, data = conn.select(folder, readonly=True)
            return int(data[0])
        finally:
            conn.logout()
