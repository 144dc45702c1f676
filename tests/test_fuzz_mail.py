"""Fuzzing the mail files the app reads (issue 18: ".eml when it exists"): ``itsmdesk mail
import FILE`` on generated and mangled messages.  The oracle is tests/fuzz_support.py's: never
the catch-all, a refusal is a sentence with nothing changed, nothing hangs.  A mail that is
taken in (a ticket, a note or the unmatched queue) is fine too: broken mail is still mail."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz_support import NASTY_TEXT, copy_db, fuzz_settings, run_checked, write_db

CORPUS = sorted((Path(__file__).parent / "fixtures" / "mail").glob("*.eml"))


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-mail-template")
    write_db(folder / "template.db")
    return folder / "template.db"


@pytest.fixture
def fuzz_db(template_db, tmp_path):
    return copy_db(template_db, tmp_path)


header_value = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=80),
                         st.sampled_from(["=?utf-8?B?w6XDpMO2?=", "=?koi8-r?Q?=F0=D2?=",
                                          "=?bogus?X?zz?=", "=?utf-8?B?not base64!?=",
                                          "[INC-000001] re", "[INC-999999999999999999999]",
                                          "<a@b>", "<>", "<" + "x" * 2000 + "@y>"]))
CHARSETS = ["utf-8", "iso-8859-1", "windows-1252", "koi8-r", "utf-16", "x-unknown", "",
            "utf-7", "us-ascii"]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "bogus"]


@st.composite
def messages(draw) -> bytes:
    """A message built from random parts: headers with odd values, a body or a multipart tree
    with random charsets and transfer encodings, maybe cut short."""
    lines = []
    for name in draw(st.lists(st.sampled_from(
            ["From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Date",
             "Auto-Submitted", "Precedence", "Reply-To", "Return-Path", "X-Autoreply"]),
            max_size=10)):
        lines.append(f"{name}: {draw(header_value)}".replace("\r", " ").replace("\n", " "))
    boundary = draw(st.sampled_from(["b1", "", "=_weird_=", "x" * 80]))
    multipart = draw(st.booleans())
    charset = draw(st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(ENCODINGS))
    body = draw(st.one_of(st.text(max_size=300), st.sampled_from(NASTY_TEXT)))
    if multipart:
        lines.append(f'Content-Type: multipart/{draw(st.sampled_from(["mixed", "alternative"]))};'
                     f' boundary="{boundary}"')
        lines.append("")
        for _part in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["text/plain", "text/html", "application/pdf",
                                         "message/rfc822", "image/png"]))
            lines += [f"--{boundary}", f"Content-Type: {kind}; charset={charset}",
                      f"Content-Transfer-Encoding: {encoding}",
                      f'Content-Disposition: attachment; filename="{draw(header_value)[:60]}"',
                      "", body]
        if draw(st.booleans()):
            lines.append(f"--{boundary}--")
    else:
        lines += [f"Content-Type: {draw(st.sampled_from(['text/plain', 'text/html', '']))}; "
                  f"charset={charset}", f"Content-Transfer-Encoding: {encoding}", "", body]
    raw = "\r\n".join(lines).encode("utf-8", errors="surrogatepass")
    if draw(st.integers(0, 4)) == 0:
        raw = raw[:draw(st.integers(0, len(raw)))]
    return raw


@st.composite
def mangled(draw) -> bytes:
    """A real-world corpus mail, cut, with bytes flipped or a header line doubled."""
    raw = draw(st.sampled_from(CORPUS)).read_bytes()
    how = draw(st.sampled_from(["cut", "flip", "double", "nul", "crlf"]))
    if how == "cut":
        return raw[:draw(st.integers(0, len(raw)))]
    if how == "flip":
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 20))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if how == "double":
        head, sep, rest = raw.partition(b"\n")
        return head + sep + head + sep + rest
    if how == "nul":
        return raw.replace(b"\n", b"\x00\n", draw(st.integers(1, 5)))
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r")


@fuzz_settings(60)
@given(mail=st.one_of(messages(), mangled()))
def test_fuzz_mail_import(fuzz_db, tmp_path, mail):
    path = tmp_path / "in.eml"
    path.write_bytes(mail)
    run_checked("eml", fuzz_db, ["--db", fuzz_db, "mail", "import", str(path)], label=mail)


def test_corpus_is_there():
    assert len(CORPUS) >= 15  # (the fuzz above mangles these)
