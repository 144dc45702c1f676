"""Mail commands: take mail in from the IMAP mailbox or from files, see the unmatched queue,
set up the mailbox.  The outgoing side (``commands/mail_out.py``) adds its commands to the same
``mail`` group."""

from __future__ import annotations

import getpass
import json
import sys
from dataclasses import replace
from pathlib import Path

from itsmdesk.commands.base import LIMIT, CommandContext, print_json, print_table, translate


def register(sub) -> None:  # noqa: ANN001
    mail = sub.add_parser(
        "mail", help=translate("Cli", "e-mail: take mail in, send notifications"),
        description=translate("Cli", "E-mail. Taking mail in: fetch, import, unmatched, setup, "
                                     "rules. Sending notifications: send-queued, outbox, "
                                     "test-smtp, subscribe, unsubscribe, subscribers, language. "
                                     "See docs/mail.md.")
    ).add_subparsers(dest="mail_cmd", required=True)
    p = mail.add_parser("fetch", help=translate("Cli", "take in new mail from the IMAP mailbox "
                                                       "(each mail once)"))
    p.add_argument("--limit", type=LIMIT, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fetch)
    p = mail.add_parser("import", help=translate("Cli", "take in mail saved as .eml (or .msg) "
                                                        "files (each mail once)"))
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import)
    p = mail.add_parser("unmatched", help=translate("Cli", "mail no rule matched, waiting for an "
                                                           "agent"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_unmatched)
    p = mail.add_parser("setup", help=translate("Cli", "show or change the IMAP mailbox "
                                                       "settings; --test connects"))
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--security", choices=("ssl", "starttls", "none"))
    p.add_argument("--login", dest="mail_login",
                   help=translate("Cli", "the mailbox's login (--user signs in to itsmdesk)"))
    p.add_argument("--folder")
    p.add_argument("--done-folder")
    p.add_argument("--cafile")
    p.add_argument("--password-stdin", action="store_true",
                   help=translate("Cli", "read the password from standard input and keep it "
                                         "in the keyring"))
    p.add_argument("--test", action="store_true",
                   help=translate("Cli", "connect and open the folder"))
    p.set_defaults(func=cmd_setup)
    p = mail.add_parser("rules", help=translate("Cli", "show the mail rules, or replace them "
                                                       "with a JSON file's"))
    p.add_argument("--set", type=Path, metavar="FILE")
    p.set_defaults(func=cmd_rules)


def _rows(results) -> list[dict]:  # noqa: ANN001 - IntakeResults
    return [{"status": r.status + (" (" + translate("Cli", "already taken") + ")"
                                   if r.duplicate else ""),
             "ticket": r.ticket_ref or "", "subject": r.subject,
             "reason": r.reason or ""} for r in results]


def cmd_fetch(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.mail import imap_fetch

    ctx.open()
    report = imap_fetch.fetch(ctx.writer(), limit=args.limit)
    if args.json:
        print_json({"found": report.found, "results": _rows(report.results)})
    else:
        print_table(_rows(report.results), ["status", "ticket", "subject"])
        print(translate("Cli", "{found} new mails: {tickets} tickets, {notes} notes, {waiting} "
                               "unmatched, {ignored} ignored").format(
            found=report.found, tickets=report.count("ticket") + report.count("followup"),
            notes=report.count("note") + report.count("reopened"),
            waiting=report.count("unmatched"), ignored=report.count("ignored")), file=sys.stderr)
    return 0


def cmd_import(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.errors import ItsmError
    from itsmdesk.i18n import error_text
    from itsmdesk.services.mail import files

    ctx.open()
    actor = ctx.writer()
    results, failed = [], 0
    for path in args.files:
        try:
            results.append(files.import_file(path, actor))
        except ItsmError as exc:
            failed += 1
            print(translate("Cli", "itsmdesk: error: {message}").format(message=error_text(exc)),
                  file=sys.stderr)
    if args.json:
        print_json(_rows(results))
    else:
        print_table(_rows(results), ["status", "ticket", "subject"])
    return 2 if failed else 0


def cmd_unmatched(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.mail import intake

    ctx.open()
    rows = [{"received": m.received_at.isoformat(sep=" "), "from": m.sender,
             "subject": m.subject, "id": str(m.id)} for m in intake.unmatched()]
    print_json(rows) if args.json else print_table(rows, ["received", "from", "subject"])
    return 0


def cmd_setup(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.mail import account, imap_fetch

    ctx.open()
    acc = account.imap_account()
    changes = {name: getattr(args, name) for name in ("host", "port", "security", "folder",
                                                      "done_folder", "cafile")
               if getattr(args, name) is not None}
    if args.mail_login is not None:
        changes["user"] = args.mail_login
    if changes:
        acc = account.save_account(replace(acc, **changes), ctx.writer())
    secret = None
    if args.password_stdin:
        secret = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass()
        if not account.remember_password(acc, secret):
            print(translate("Cli", "This computer has no keyring: the password was not kept "
                                   "(set ITSMDESK_MAIL_PASSWORD instead)"), file=sys.stderr)
    print_table([{"key": k, "value": str(v)} for k, v in vars(acc).items()], ["key", "value"])
    if args.test:
        count = imap_fetch.test_connection(acc, secret)
        print(translate("Cli", "connected: {count} mails in {folder}").format(
            count=count, folder=acc.folder))
    return 0


def cmd_rules(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from dataclasses import asdict

    from itsmdesk.errors import N_, ValidationError
    from itsmdesk.services.mail import rules

    ctx.open()
    if args.set:
        try:
            data = json.loads(args.set.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError(N_("Cannot read the rules from {path}: {reason}"),
                                  path=str(args.set), reason=str(exc)) from None
        if not isinstance(data, list):
            raise ValidationError(N_("The rules file must hold a JSON list of rules"))
        rules.save_rules(data, ctx.writer())
    print_json([asdict(r) for r in rules.rules()])
    return 0
