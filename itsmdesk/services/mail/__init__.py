"""E-mail, the Service Desk's front door.

Intake (this helper's part): :mod:`.parsing` reads a raw mail (charsets, broken MIME, HTML as
text, auto-reply and bounce detection), :mod:`.intake` turns it into a ticket, a note or an
unmatched mail exactly once, :mod:`.rules` says what a new mail becomes, :mod:`.files` reads
``.eml``/``.msg`` files, :mod:`.imap_fetch` takes mail from an IMAP mailbox and marks it done on
the server only after its ticket is committed.  :mod:`.account` keeps the IMAP and SMTP account
settings (passwords in the keyring) for intake and for outgoing mail.
"""
