"""Outgoing mail commands: ``itsmdesk mail setup-smtp | send-queued | outbox | test-smtp |
subscribe | unsubscribe | subscribers | language`` (docs/mail.md, "Sending notifications").

The ``mail`` group is shared with the intake commands: :func:`register` adds these to the group
when it exists already, else makes it.
"""

from __future__ import annotations

import argparse

from itsmdesk.commands.base import LIMIT, CommandContext, parse_date, print_json, print_table, translate


def _mail_group(sub) -> argparse._SubParsersAction:  # noqa: ANN001
    parser = sub.choices.get("mail")
    if parser is None:
        parser = sub.add_parser("mail", help=translate("Cli", "mail: notifications, outage "
                                                              "announcements, the outbox"))
        return parser.add_subparsers(dest="mail_cmd", required=True)
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def register(sub) -> None:  # noqa: ANN001
    mail = _mail_group(sub)
    p = mail.add_parser("send-queued", help=translate("Cli", "deliver the queued mail that is "
                                                             "due (retries with backoff)"))
    p.add_argument("--now", help=translate("Cli", "pretend it is this UTC time (YYYY-MM-DD HH:MM)"))
    p.add_argument("--limit", type=LIMIT, default=200)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_send_queued)

    p = mail.add_parser("outbox", help=translate("Cli", "the outgoing mail, newest first, with "
                                                        "its status"))
    p.add_argument("--status", choices=("queued", "sending", "sent", "failed"))
    p.add_argument("--limit", type=LIMIT, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_outbox)

    p = mail.add_parser("setup-smtp", help=translate("Cli", "show or change the SMTP server "
                                                            "notifications go out by; --test "
                                                            "connects"))
    p.add_argument("--host")
    p.add_argument("--port", help=translate("Cli", "0: the usual one (587, 465 for ssl)"))
    p.add_argument("--security", choices=("starttls", "ssl", "none"))
    p.add_argument("--login", dest="smtp_login",
                   help=translate("Cli", "the SMTP login (--user signs in to itsmdesk)"))
    p.add_argument("--from", dest="sender", metavar="ADDRESS",
                   help=translate("Cli", "the address mail is sent from"))
    p.add_argument("--cafile")
    p.add_argument("--password-stdin", action="store_true",
                   help=translate("Cli", "read the password from standard input and keep it "
                                         "in the keyring"))
    p.add_argument("--test", action="store_true",
                   help=translate("Cli", "connect and log in"))
    p.set_defaults(func=cmd_setup_smtp)

    p = mail.add_parser("test-smtp", help=translate("Cli", "connect to the SMTP server and log "
                                                           "in; with --to, send a test mail"))
    p.add_argument("--to", metavar="ADDRESS")
    p.set_defaults(func=cmd_test_smtp)

    for name, helptext in (
            ("subscribe", translate("Cli", "a person follows a business service's outage "
                                           "announcements")),
            ("unsubscribe", translate("Cli", "a person no longer follows a business service"))):
        p = mail.add_parser(name, help=helptext)
        p.add_argument("service", help=translate("Cli", "the business service's name"))
        p.add_argument("person", help=translate("Cli", "login, e-mail address or name"))
        p.set_defaults(func=cmd_subscribe if name == "subscribe" else cmd_unsubscribe)

    p = mail.add_parser("subscribers", help=translate("Cli", "who follows a business service"))
    p.add_argument("service", help=translate("Cli", "the business service's name"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_subscribers)

    p = mail.add_parser("language", help=translate("Cli", "the language a person is mailed in"))
    p.add_argument("person", help=translate("Cli", "login, e-mail address or name"))
    p.add_argument("language", choices=("en", "sv", "default"))
    p.set_defaults(func=cmd_language)


def cmd_send_queued(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.mail import outgoing

    ctx.open()
    ctx.writer()  # (a database with accounts: only a signed-in person marks mail sent)
    result = outgoing.send_queued(parse_date(args.now) if args.now else None, args.limit)
    if args.json:
        print_json({"sent": result.sent, "retrying": result.retrying, "failed": result.failed,
                    "error": result.error})
    else:
        print(translate("Cli", "{sent} sent, {retrying} to retry, {failed} failed").format(
            sent=len(result.sent), retrying=len(result.retrying), failed=len(result.failed)))
        if result.error:
            print(translate("Cli", "The SMTP server was not reached: {error}").format(
                error=result.error))
    return 1 if result.error or result.failed else 0


def cmd_outbox(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.mail import outgoing

    ctx.open()
    rows = [{"queued": f"{r.created_at:%Y-%m-%d %H:%M}", "status": r.status,
             "attempts": r.attempts, "event": r.event, "to": r.to_address,
             "subject": r.subject,
             "when": f"{(r.sent_at or r.not_before):%Y-%m-%d %H:%M}",
             "error": r.last_error or "", "message_id": r.message_id}
            for r in outgoing.outbox(args.status, args.limit)]
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["queued", "status", "attempts", "event", "to", "subject", "when",
                           "error"])
    return 0


def cmd_setup_smtp(args, ctx: CommandContext) -> int:  # noqa: ANN001
    """The SMTP half of the mail settings (the same settings as the Mail settings dialog's
    SMTP tab: services/mail/account.py)."""
    import getpass
    import sys

    from itsmdesk.services.mail import account, outgoing

    ctx.open()
    form = account.smtp_form()
    values = dict(form.values)
    changes = {"host": args.host, "port": args.port, "security": args.security,
               "user": args.smtp_login, "sender": args.sender, "cafile": args.cafile}
    changes = {k: v for k, v in changes.items() if v is not None}
    secret = None
    if args.password_stdin:
        secret = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass()
    if changes or secret:
        values.update(changes)
        form = account.save_smtp(values, form.versions, secret or None, ctx.writer())
    print_table([{"key": k, "value": v} for k, v in form.values.items()], ["key", "value"])
    if args.test:
        server = outgoing.check_smtp()
        print(translate("Cli", "{server}: connected and logged in").format(server=server))
    return 0


def cmd_test_smtp(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.mail import outgoing

    ctx.open()
    server = outgoing.check_smtp(args.to)
    if args.to:
        print(translate("Cli", "{server}: test mail sent to {to}").format(server=server, to=args.to))
    else:
        print(translate("Cli", "{server}: connected and logged in").format(server=server))
    return 0


def cmd_subscribe(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.mail import subscriptions

    ctx.open()
    service = subscriptions.find_service(args.service)
    person = subscriptions.find_person(args.person)
    if subscriptions.subscribe(service.id, person.id, ctx.writer()):
        print(translate("Cli", "{person} now follows {service}").format(person=person.name,
                                                                       service=service.name))
    else:
        print(translate("Cli", "{person} already follows {service}").format(person=person.name,
                                                                           service=service.name))
    return 0


def cmd_unsubscribe(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.mail import subscriptions

    ctx.open()
    service = subscriptions.find_service(args.service)
    person = subscriptions.find_person(args.person)
    if subscriptions.unsubscribe(service.id, person.id, ctx.writer()):
        print(translate("Cli", "{person} no longer follows {service}").format(
            person=person.name, service=service.name))
    else:
        print(translate("Cli", "{person} did not follow {service}").format(
            person=person.name, service=service.name))
    return 0


def cmd_subscribers(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.mail import subscriptions

    ctx.open()
    service = subscriptions.find_service(args.service)
    rows = [{"name": s.name, "email": s.email or ""}
            for s in subscriptions.subscribers_of(service.id)]
    print_json(rows) if args.json else print_table(rows, ["name", "email"])
    return 0


def cmd_language(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services import people
    from itsmdesk.services.mail import subscriptions

    ctx.open()
    person = subscriptions.find_person(args.person)
    language = None if args.language == "default" else args.language
    people.update_person(person.id, person.version, {"language": language}, ctx.writer())
    print(translate("Cli", "{person} is mailed in {language}").format(
        person=person.name, language=args.language))
    return 0
