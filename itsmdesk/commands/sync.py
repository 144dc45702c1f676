"""``itsmdesk replica create|status|conflicts`` and ``itsmdesk sync`` (remote sites, step 1:
see docs/sync.md)."""

from __future__ import annotations

from pathlib import Path

from itsmdesk.commands.base import CommandContext, _with_pg_password, print_json, translate


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("replica", help=translate(
        "Cli", "a local replica of the shared database for a site that works offline"))
    rsub = p.add_subparsers(dest="replica_command", metavar="ACTION", required=True)

    c = rsub.add_parser("create", help=translate(
        "Cli", "copy the hub (the whole database) into a new SQLite file for a site"))
    c.add_argument("--from", dest="hub", required=True, metavar="URL", help=translate(
        "Cli", "the hub: postgresql://USER@HOST:PORT/DB (the password from ITSMDESK_PASSWORD "
               "or the keyring) or sqlite:///FILE"))
    c.add_argument("--site", required=True, metavar="CODE", help=translate(
        "Cli", "the site's code (2 to 8 letters or digits): references made on the replica "
               "are numbered in its block, e.g. INC-OSL-000001"))
    c.add_argument("--scope", action="append", metavar="SPEC", help=translate(
        "Cli", "only the site's part: teams=NAME,NAME and/or site=CODE (its teams' CIs, "
               "tickets, problems, changes and releases, and all reference data)"))
    c.add_argument("file", type=Path, metavar="FILE.db")
    c.set_defaults(func=cmd_replica_create)

    c = rsub.add_parser("refetch", help=translate(
        "Cli", "copy the replica's part of the hub again (when the hub's history no longer "
               "reaches back to the last sync); unsent changes are kept"))
    c.add_argument("--hub", metavar="URL", help=translate(
        "Cli", "the hub (default: the one the replica was made from)"))
    c.set_defaults(func=cmd_replica_refetch)

    c = rsub.add_parser("status", help=translate(
        "Cli", "whether the database is a replica, of which hub, and when it last synced"))
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_replica_status)

    c = rsub.add_parser("conflicts", help=translate(
        "Cli", "values the hub did not take because it had changed the same field"))
    c.add_argument("--all", action="store_true", help=translate(
        "Cli", "include the conflicts decided already"))
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_replica_conflicts)

    c = rsub.add_parser("decide", help=translate(
        "Cli", "decide a conflict: keep the hub's value or take the replica's"))
    c.add_argument("conflict", type=int, metavar="ID", help=translate(
        "Cli", "the conflict's number, as 'replica conflicts' lists it"))
    c.add_argument("--take", required=True, choices=("hub", "replica"), help=translate(
        "Cli", "hub: keep the value the hub kept; replica: set the replica's value"))
    c.set_defaults(func=cmd_replica_decide)

    p = sub.add_parser("sync", help=translate(
        "Cli", "send this replica's changes to the hub and fetch the hub's"))
    p.add_argument("--hub", metavar="URL", help=translate(
        "Cli", "the hub (default: the one the replica was made from)"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--progress-json", action="store_true", help=translate(
        "Cli", "print one JSON line per step (phase, done, total) and a last one with the "
               "summary (for the desktop app)"))
    p.set_defaults(func=cmd_sync)
    ssub = p.add_subparsers(dest="sync_command", metavar="ACTION", required=False)
    c = ssub.add_parser("export-bundle", help=translate(
        "Cli", "on a replica with no link: write its unsent changes to a file to carry to the "
               "hub"))
    c.add_argument("file", type=Path, metavar="FILE")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_export_bundle)
    c = ssub.add_parser("import-bundle", help=translate(
        "Cli", "at the hub: apply a site's carried file and write the answer; on the replica: "
               "apply the hub's answer"))
    c.add_argument("file", type=Path, metavar="FILE")
    c.add_argument("--answer", type=Path, metavar="FILE", help=translate(
        "Cli", "at the hub: where to write the answer to carry back (default: FILE with "
               "'.answer' added)"))
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_import_bundle)


def _shown(url: str) -> str:
    """The hub's URL as the replica keeps it: no password; an SQLite path made absolute."""
    from itsmdesk.models.database import parse_url

    info = parse_url(url)
    if info.backend == "sqlite" and info.path is not None:
        return f"sqlite:///{info.path.resolve()}"
    return info.display


def cmd_replica_create(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.sync.replica import create_replica

    made = create_replica(_with_pg_password(args.hub), args.site, args.file, _shown(args.hub),
                          scope=";".join(args.scope) if args.scope else None)
    print(translate("Cli", "replica of {hub} for site {site} written to {path}: {rows} rows, "
                           "{journal} journal rows").format(
        hub=made.hub, site=made.site, path=made.path, rows=sum(made.rows.values()),
        journal=made.journal_rows))
    if made.scope:
        print(translate("Cli", "scope: {scope}").format(scope=made.scope))
    print(translate("Cli", "references made on it are numbered in the site's block "
                           "({example}); sync with: itsmdesk --db sqlite:///{path} sync").format(
        example=f"INC-{made.site}-000001", path=made.path))
    return 0


def cmd_replica_status(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.sync.replica import status

    ctx.open()
    assert ctx.database is not None
    state = status(ctx.database)
    if args.json:
        print_json(state)
        return 0
    if not state:
        print(translate("Cli", "{db} is not a replica").format(
            db=ctx.info.display if ctx.info else ctx.url))
        return 1
    print(translate("Cli", "replica of {hub} for site {site}").format(hub=state["hub"],
                                                                        site=state["site"]))
    print(translate("Cli", "scope: {scope}").format(scope=state["scope"]) if state.get("scope")
          else translate("Cli", "scope: the whole hub"))
    if state.get("last_sync"):
        print(translate("Cli", "last synced: {when} UTC").format(when=state["last_sync"]))
    else:
        print(translate("Cli", "never synced yet"))
    print(translate("Cli", "local journal rows waiting to be sent: {n}").format(
        n=state["unpushed_rows"]))
    return 0


def cmd_replica_refetch(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.sync import scope
    from itsmdesk.services.sync.engine import _meta
    from itsmdesk.services.sync.link import open_unbound

    ctx.open()
    assert ctx.database is not None
    ctx.writer()  # (replaces the replica's data: signed in, as for a sync)
    hub, _info = open_unbound(_with_pg_password(args.hub or _meta(ctx.database)["hub"]))
    try:
        done = scope.refetch(ctx.database, hub)
    finally:
        hub.close()
    print(translate("Cli", "fetched {rows} rows from the hub again; {again} unsent journal rows "
                           "applied again on top; current to hub journal id {checkpoint}").format(
        rows=sum(done.rows.values()), again=done.reapplied, checkpoint=done.pull_checkpoint))
    return 0


def _conflict_line(c: dict) -> str:
    return translate("Cli", "{ref} {field}: the hub kept {hub}; {site} had {replica} ({who}, "
                            "{at} UTC)").format(
        ref=c.get("ref") or c.get("id"), field=c.get("field"), hub=_value(c.get("hub")),
        site=c.get("site"), replica=_value(c.get("replica")), who=c.get("who_name") or "?",
        at=c.get("at"))


def _value(text: object) -> str:
    return translate("Cli", "(empty)") if text in (None, "") else repr(str(text))


def _conflict_dict(c) -> dict:  # noqa: ANN001 - a decide.Conflict
    return {"journal_id": c.journal_id, "kind": c.kind, "id": str(c.record_id), "ref": c.ref,
            "noted_at": c.noted_at, "field": c.field, "reason": c.reason, "hub": c.hub,
            "replica": c.replica, "child_id": c.child_id, "site": c.site, "batch": c.batch,
            "who_name": c.who_name, "at": c.at,
            "decision": None if c.decision is None else {
                "take": c.decision.take, "who_name": c.decision.who_name,
                "at": c.decision.at}}


def _decision_text(decision) -> str:  # noqa: ANN001 - a decide.Decision
    text = (translate("Cli", "kept the hub's value") if decision.take == "hub"
            else translate("Cli", "took the replica's value"))
    return translate("Cli", "decided: {what} ({who}, {at} UTC)").format(
        what=text, who=decision.who_name or "?", at=decision.at)


def cmd_replica_conflicts(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.sync import decide

    ctx.open()
    rows, before = [], None
    while True:  # (page by page: the journal may hold many)
        page = decide.conflicts(500, before, include_decided=args.all)
        rows.extend(page.items)
        if page.next_before is None:
            break
        before = page.next_before
    if args.json:
        print_json([_conflict_dict(c) for c in rows])
        return 0
    if not rows:
        print(translate("Cli", "(none)"))
    for c in rows:
        line = f"#{c.journal_id}  " + _conflict_line(_conflict_dict(c))
        if c.decision is not None:
            line += " — " + _decision_text(c.decision)
        print(line)
    if rows and not args.json:
        print(translate("Cli", "decide one with: itsmdesk replica decide ID --take hub|replica"))
    return 0


def cmd_replica_decide(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.sync import decide

    ctx.open()
    decided = decide.decide(args.conflict, args.take, ctx.writer())
    print(f"#{decided.journal_id}  " + _conflict_line(_conflict_dict(decided)))
    print("  " + _decision_text(decided.decision))
    return 0


def _emit(data: dict) -> None:
    import json
    import sys

    sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _progress(phase: str, done: int, total: int) -> None:
    _emit({"phase": phase, "done": done, "total": total})


def _waiting_batches(database) -> int:  # noqa: ANN001 - a peewee database
    """How many local writes (batches) wait to be sent: the replica's own unacknowledged
    journal rows (``engine.pending_rows``: not the hub's rows a carried answer pulled in after
    the push checkpoint), one batch per run of rows with the same batch id, as the push groups
    them."""
    from itsmdesk.services.sync.engine import pending_rows

    rows = pending_rows(database)
    return sum(1 for n, row in enumerate(rows) if n == 0 or row[12] != rows[n - 1][12])


CHANGED_IDS_MAX = 2000  # more ids of one kind than this: the kind is named as changed wholesale


def changed_since(database, after: int) -> dict[str, object]:  # noqa: ANN001
    """What the replica's journal rows after ``after`` touched (what a sync pushed and pulled):
    ``{kind: {"created"|"changed"|"deleted": [ids]}}``, or ``{kind: "*"}`` for many; child
    tables touched are named wholesale.  The desktop app refreshes its panels from it."""
    import uuid

    from itsmdesk.services.sync.ops import children_by_table

    children = children_by_table()
    out: dict[str, object] = {}
    rows = database.execute_sql('SELECT record_kind, record_id, field FROM "journal" WHERE id > '
                                f"{database.param} ORDER BY id", (after,)).fetchall()
    for kind, record_id, name in rows:
        if name.startswith("!"):
            continue
        if name[-1:] in "+~-" and name[:-1] in children:
            out[name[:-1]] = "*"
        how = {"*created*": "created", "*deleted*": "deleted"}.get(name, "changed")
        entry = out.setdefault(kind, {})
        if entry == "*":
            continue
        ids = entry.setdefault(how, [])
        key = str(uuid.UUID(str(record_id)))  # (SQLite keeps a UUID as 32 hex digits)
        if key not in ids:
            ids.append(key)
        if sum(len(v) for v in entry.values()) > CHANGED_IDS_MAX:
            out[kind] = "*"
    return out


def _operator(ctx: CommandContext, hub_url: str | None):  # noqa: ANN202 - an Actor
    """Who runs the sync: the person signed in on the replica; on a secured PostgreSQL hub the
    hub's login (PostgreSQL checked its password; ``trust.Gate`` takes the session's person), so
    nobody need sign in on the replica there (its people have no local password: the hub's
    PostgreSQL keeps them)."""
    from itsmdesk.errors import PermissionDeniedError, SignInError
    from itsmdesk.services.context import ANONYMOUS
    from itsmdesk.services.sync.hub_rights import hub_is_secured

    try:
        return ctx.writer()
    except (PermissionDeniedError, SignInError):
        if hub_url and hub_is_secured(hub_url):
            return ANONYMOUS
        raise


def cmd_sync(args, ctx: CommandContext) -> int:  # noqa: ANN001

    from itsmdesk.services.sync.engine import sync
    from itsmdesk.services.sync.replica import status

    ctx.open()
    assert ctx.database is not None
    state = status(ctx.database)
    hub = args.hub or state.get("hub")
    progress = None
    if args.progress_json:
        before = int(state.get("push_checkpoint") or 0)
        _progress("start", 0, _waiting_batches(ctx.database) if state else 0)
        progress = _progress
    report = sync(ctx.database, _with_pg_password(hub) if hub else None, progress,
                  operator=_operator(ctx, _with_pg_password(hub) if hub else None))
    if args.progress_json:
        _progress("done", 1, 1)
        _emit({"phase": "summary", "pushed": report.pushed_batches,
               "skipped": report.skipped_batches, "pushed_rows": report.pushed_rows,
               "pulled": report.pulled_rows, "conflicts": len(report.conflicts),
               "changed": changed_since(ctx.database, before)})
        return 0
    if args.json:
        print_json(report.__dict__)
        return 0
    print(translate("Cli", "sent {batches} change(s) ({rows} journal rows; {skipped} sent "
                           "before), received {pulled} journal rows").format(
        batches=report.pushed_batches, rows=report.pushed_rows,
        skipped=report.skipped_batches, pulled=report.pulled_rows))
    if report.refetched:
        print(translate("Cli", "the hub no longer keeps its history back to this replica's "
                               "last sync: the replica's part was fetched again from the hub "
                               "(unsent changes kept)"))
    if report.out_of_scope or report.fetched_rows:
        print(translate("Cli", "scope: {skipped} hub change(s) outside it not applied; {fetched} "
                               "row(s) of records entering it fetched whole").format(
            skipped=report.out_of_scope, fetched=report.fetched_rows))
    if report.conflicts:
        print(translate("Cli", "{n} conflict(s): the hub's value stays, yours is kept for a "
                               "person to decide:").format(n=len(report.conflicts)))
        for c in report.conflicts:
            print("  " + _conflict_line(c))
    return 0


def cmd_export_bundle(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.sync.bundle import export_bundle

    ctx.open()
    assert ctx.database is not None
    made = export_bundle(ctx.database, args.file)
    if args.json:
        print_json({"file": str(args.file), "batches": made.batches, "rows": made.rows})
        return 0
    print(translate("Cli", "{batches} unsent change(s) ({rows} journal rows) written to "
                           "{path}; at the hub: itsmdesk --db HUB sync import-bundle {path}"
                    ).format(batches=made.batches, rows=made.rows, path=args.file))
    return 0


def cmd_import_bundle(args, ctx: CommandContext) -> int:  # noqa: ANN001
    from itsmdesk.services.sync import bundle
    from itsmdesk.services.sync.replica import status

    ctx.open()
    assert ctx.database is not None
    if status(ctx.database):
        done = bundle.import_answer(ctx.database, args.file)
        if args.json:
            print_json({"pulled_rows": done.pulled_rows, "acknowledged_rows": done.acknowledged,
                        "nothing_new": done.nothing_new})
        elif done.nothing_new:
            print(translate("Cli", "{path} brings nothing new: this replica has it already")
                  .format(path=args.file))
        else:
            print(translate("Cli", "the hub's answer applied: {acked} journal row(s) of yours "
                                   "acknowledged, {pulled} received").format(
                acked=done.acknowledged, pulled=done.pulled_rows))
        return 0
    answer = args.answer or args.file.with_name(args.file.name + ".answer")
    done = bundle.import_bundle(ctx.database, args.file, answer, ctx.writer())
    if args.json:
        print_json({"batches": done.batches, "applied": done.applied, "skipped": done.skipped,
                    "conflicts": done.conflicts, "answer": str(answer),
                    "answer_rows": done.pulled_rows})
        return 0
    print(translate("Cli", "{applied} change(s) applied, {skipped} applied before; the answer "
                           "({rows} journal rows) is in {answer}: carry it back and run "
                           "itsmdesk --db sqlite:///REPLICA sync import-bundle {answer}").format(
        applied=done.applied, skipped=done.skipped, rows=done.pulled_rows, answer=answer))
    for c in done.conflicts or []:
        print("  " + _conflict_line(c))
    return 0
