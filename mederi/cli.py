"""The `mederi` command: serve, worker, migrate, import, export, demo, audit, keys, token, check."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mederi.settings")
    import django

    django.setup()


def cmd_migrate(args) -> int:
    from django.core.management import call_command

    call_command("migrate", verbosity=1 if args.verbose else 0, interactive=False)
    print("database is up to date")
    return 0


UNSAFE_WARNING = ("WARNING: MEDERI_UNSAFE_NO_SECURITY is set: the API answers anyone, as the server, and "
                  "nothing is audited. It is for benchmarks only; unset it.")


def cmd_serve(args) -> int:
    from django.conf import settings
    from gunicorn.app.base import BaseApplication

    if settings.MEDERI_UNSAFE_NO_SECURITY:
        print(UNSAFE_WARNING, file=sys.stderr)

    from mederi.wsgi import application

    options = {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "worker_class": "sync",
        "accesslog": "-" if args.access_log else None,
        "timeout": 120,
    }
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            print("error: --tls-cert and --tls-key go together", file=sys.stderr)
            return 2
        options.update(certfile=args.tls_cert, keyfile=args.tls_key)

    class Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                if value is not None:
                    self.cfg.set(key, value)

        def load(self):
            return application

    scheme = "https" if args.tls_cert else "http"
    print(f"Mederi is serving on {scheme}://{args.host}:{args.port}/  (FHIR API: /fhir/R4/)", flush=True)
    # Reminders, eligibility batches and other jobs need a worker; one machine runs it beside the app.
    worker = None if args.no_worker else subprocess.Popen([sys.executable, "-m", "mederi", "worker"])
    try:
        Server().run()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=10)
    return 0


def cmd_worker(args) -> int:
    from django.core.management import call_command

    call_command("run_huey", workers=args.workers) if args.workers else call_command("run_huey")
    return 0


def cmd_import(args) -> int:
    from tqdm import tqdm

    from mederi.core.context import Context
    from mederi.fhir import services

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"error: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    files = services.collect_files(paths)
    sizes = {path: services.count_entries(path) for path in files}  # read once, for the progress bar
    total = sum(sizes.values())
    bar = tqdm(total=total, unit="res", disable=args.quiet, file=sys.stderr)

    def on_file(path, report):
        bar.update(sizes.get(path, 0))
        if report.error:
            tqdm.write(f"FAILED {path}: {report.error}", file=sys.stderr)

    report = services.import_paths(files, Context.system("import"), on_file=on_file, jobs=args.jobs)
    bar.close()
    ok = len(report.files) - len(report.failed)
    print(f"imported {report.resources} resources from {ok} of {len(report.files)} files")
    return 1 if report.failed else 0


def cmd_import_csv(args) -> int:
    """Patients (or appointments) from a CSV export; the logic is in mederi.patients.csv_import."""
    from tqdm import tqdm

    from mederi.core.context import Context
    from mederi.core.errors import MederiError
    from mederi.patients import csv_import

    path = Path(args.file)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2
    patients = args.kind == "patients"
    try:
        load = csv_import.load_mapping if patients else csv_import.load_appointment_mapping
        mapping = load(Path(args.mapping))
    except MederiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    importer = csv_import.import_patients if patients else csv_import.import_appointments
    rows = csv_import.count_rows(path)
    passes = 2 if patients and not args.dry_run else 1  # patients: checked, then stored
    bar = tqdm(total=rows * passes, unit="row", disable=args.quiet, file=sys.stderr)
    try:
        report = importer(Context.system("import-csv"), path, mapping, dry_run=args.dry_run, progress=bar.update)
    except MederiError as error:
        bar.close()
        print(f"error: {error}", file=sys.stderr)
        return 2
    bar.close()
    for problem in report.problems:
        print(problem)
    print(report.summary())
    return 0 if report.ok else 1


def cmd_statements(args) -> int:
    """A statement run for every patient owing at least --minimum, with a progress bar."""
    import datetime as dt

    from tqdm import tqdm

    from mederi.billing.patient_billing import statements
    from mederi.core.context import Context
    from mederi.core.errors import MederiError

    try:
        day = dt.date.fromisoformat(args.date) if args.date else None
    except ValueError:
        print(f"error: write the statement date as YYYY-MM-DD, not {args.date!r}", file=sys.stderr)
        return 2
    context = Context.system("statements command")
    try:
        run = statements.start_run(context, args.minimum, day, queue=False)
    except MederiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    bar = tqdm(total=run.total, unit="patient", disable=args.quiet, file=sys.stderr)
    run = statements.make_run(run.pk, context, progress=lambda _: bar.update(1))
    bar.close()
    for problem in run.problems:
        print(problem)
    print(f"{run.made} statements made for {run.total} patients owing {run.minimum} or more (run {run.pk})")
    return 1 if run.problems else 0


def cmd_rxnorm_import(args) -> int:
    """The drug catalogue from a full RxNorm release; the logic is in mederi.clinical.drugs.rxnorm_import."""
    from tqdm import tqdm

    from mederi.clinical.drugs import rxnorm_import

    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"error: no such folder: {folder}", file=sys.stderr)
        return 2
    bar = tqdm(total=rxnorm_import.release_size(folder), unit="B", unit_scale=True, disable=args.quiet,
               file=sys.stderr)
    try:
        count = rxnorm_import.import_release(folder, bar.update)
    except rxnorm_import.RxNormFileError as error:
        bar.close()
        print(f"error: {error}; the drug catalogue is unchanged", file=sys.stderr)
        return 1
    bar.close()
    print(f"drug catalogue: {count} RxNorm concepts loaded")
    return 0


def cmd_cpt_import(args) -> int:
    """CPT descriptions from a licensed CSV file (code,description), all or nothing."""
    from tqdm import tqdm

    from mederi.billing.claims import fees

    path = Path(args.file)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2
    bar = tqdm(total=fees.count_lines(path), unit="line", disable=args.quiet, file=sys.stderr)
    try:
        count = fees.import_cpt(path, lambda: bar.update(1))
    except fees.CptFileError as error:
        bar.close()
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        print("nothing was imported: fix the file and run the command again", file=sys.stderr)
        return 1
    bar.close()
    print(f"CPT descriptions: {count} codes loaded")
    return 0


def cmd_export(args) -> int:
    from tqdm import tqdm

    from mederi.audit import services as audit
    from mederi.core.context import Context
    from mederi.fhir import selectors, validation

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    types = args.type.split(",") if args.type else selectors.export_types()
    unknown = [t for t in types if not validation.is_resource_type(t)]
    if unknown:
        print(f"error: not FHIR R4 resource types: {', '.join(unknown)}", file=sys.stderr)
        return 2
    written = 0
    for resource_type in types:
        count = selectors.export_count(resource_type)
        if not count:
            continue
        with open(out / f"{resource_type}.ndjson", "w", encoding="utf-8") as handle:
            for content in tqdm(selectors.export_rows(resource_type), total=count, desc=resource_type,
                                unit="res", disable=args.quiet, file=sys.stderr):
                handle.write(content)
                handle.write("\n")
                written += 1
        audit.record(Context.system("export"), "export", resource_type=resource_type,
                     query=str(out / f"{resource_type}.ndjson"), detail={"count": count})
    print(f"exported {written} resources to {out}/")
    return 0


def cmd_demo(args) -> int:
    from mederi.demo import load_demo

    summary = load_demo()
    print(summary)
    return 0


def cmd_audit_verify(args) -> int:
    from mederi.audit.selectors import verify_chain

    result = verify_chain(anchor=args.anchor)
    print(result)
    if result.ok:
        print(f"head: {result.head}")
    return 0 if result.ok else 1


def cmd_keys_new(args) -> int:
    from mederi.core import crypto

    try:
        path = crypto.new_key()
    except crypto.KeysFromEnvironment as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"a new key is first in {path}; run `mederi keys rotate` to re-encrypt stored values with it")
    return 0


def cmd_keys_rotate(args) -> int:
    from mederi.core import crypto
    from mederi.fhir import sensitive

    try:
        count = crypto.rotate_all()
        resources = sensitive.rotate_stored()
    except crypto.KeyNotConfigured as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"re-encrypted {count} values and the sensitive identifiers of {resources} resource versions "
          "with the newest key")
    return 0


def cmd_token(args) -> int:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from oauth2_provider.models import Application

    from mederi.accounts import services, working_location
    from mederi.fhir.access import is_resource_scope

    user = get_user_model().objects.filter(username=args.username, is_active=True).first()
    if user is None:
        print(f"error: there is no active user '{args.username}'", file=sys.stderr)
        return 2
    unknown = [s for s in args.scope.split() if not is_resource_scope(s)]
    if unknown or not args.scope.split():
        print(f"error: not SMART resource scopes: {' '.join(unknown) or '(none)'}; e.g. user/*.rs patient/Observation.rs",
              file=sys.stderr)
        return 2
    if args.location and args.location not in {key for key, _ in working_location.choices(user)}:
        print(f"error: {args.username} holds no role at location '{args.location}'; their locations: "
              f"{', '.join(key for key, _ in working_location.choices(user)) or '(none)'}", file=sys.stderr)
        return 2
    application, _ = Application.objects.get_or_create(
        name="Mederi command line", defaults={"client_type": Application.CLIENT_PUBLIC, "client_secret": "",
                                              "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
                                              "redirect_uris": "http://127.0.0.1/"})
    print(services.issue_access_token(user, application, args.scope, args.patient,
                                      lifetime=timedelta(hours=args.hours), location_id=args.location))
    return 0


def cmd_check(args) -> int:
    from django.core.management import call_command

    call_command("check")
    from django.conf import settings

    if settings.MEDERI_UNSAFE_NO_SECURITY:
        print(f"PROBLEM: {UNSAFE_WARNING}")
        return 1
    from mederi.fhir.checks import check_record

    problems = check_record()
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("record check: " + ("ok" if not problems else f"{len(problems)} problems"))
    from mederi.clinical.selectors import signature_count, verify_signatures

    signed, broken = signature_count(), verify_signatures()
    for problem in broken:
        print(f"PROBLEM: {problem}")
    noun = "document" if signed == 1 else "documents"
    print(f"signature check: {signed} signed {noun} verified" if not broken
          else f"signature check: {len(broken)} of {signed} signed {noun} failed verification")
    return 1 if problems or broken else 0


def cmd_mllp_listen(args) -> int:
    from mederi.interop import listener

    host, port, _, _ = listener.listener_settings()
    return listener.listen(args.host or host, args.port or port)


def cmd_mail_listen(args) -> int:
    import time

    from mederi.ai.agent import mail

    server = mail.controller(args.host, args.port)
    try:
        server.start()
    except (OSError, RuntimeError) as error:
        print(f"error: cannot listen on {args.host}:{args.port} ({error})", file=sys.stderr)
        return 2
    print(f"Taking patients' emails for the agent over SMTP on {args.host}:{args.port}; Ctrl-C stops", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.stop()
    return 0


def cmd_mllp_send(args) -> int:
    from mederi.interop import listener

    host, port, _, _ = listener.listener_settings()
    return listener.send_file(Path(args.file), args.host or host, args.port or port, args.timeout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mederi", description="Mederi: one record for the whole practice")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the web app and FHIR API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--access-log", action="store_true")
    serve.add_argument("--tls-cert")
    serve.add_argument("--tls-key")
    serve.add_argument("--no-worker", action="store_true", help="do not start a job worker beside the server")
    serve.set_defaults(func=cmd_serve)

    worker = commands.add_parser("worker", help="run background jobs: reminders, eligibility batches, ...")
    worker.add_argument("--workers", type=int, help="jobs run at once (default MEDERI_WORKERS or 2)")
    worker.set_defaults(func=cmd_worker)

    migrate = commands.add_parser("migrate", help="create or upgrade the database")
    migrate.add_argument("-v", "--verbose", action="store_true")
    migrate.set_defaults(func=cmd_migrate)

    imp = commands.add_parser("import", help="import FHIR Bundles and NDJSON files or folders")
    imp.add_argument("paths", nargs="+")
    imp.add_argument("-q", "--quiet", action="store_true")
    imp.add_argument("-j", "--jobs", type=int, default=min(os.cpu_count() or 1, 4),
                     help="files loaded at once by worker processes (default: one per core, at most 4)")
    imp.set_defaults(func=cmd_import)

    imp_csv = commands.add_parser("import-csv", help="import patients (or appointments) from another system's CSV "
                                                     "export, all rows or none")
    imp_csv.add_argument("kind", choices=["patients", "appointments"])
    imp_csv.add_argument("file", help="the CSV file (first row: column names)")
    imp_csv.add_argument("--mapping", required=True,
                         help="JSON file: {\"columns\": {\"family\": \"Last Name\", ...}, \"date_format\": \"MM/DD/YYYY\"}")
    imp_csv.add_argument("--dry-run", action="store_true", help="check every row and report; store nothing")
    imp_csv.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    imp_csv.set_defaults(func=cmd_import_csv)

    rxnorm = commands.add_parser("rxnorm-import", help="load the full drug catalogue from an RxNorm release "
                                                       "(RXNCONSO.RRF and RXNREL.RRF), all or nothing")
    rxnorm.add_argument("folder", help="the release's rrf folder")
    rxnorm.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    rxnorm.set_defaults(func=cmd_rxnorm_import)

    cpt = commands.add_parser("cpt-import", help="load CPT descriptions from a licensed CSV file (code,description)")
    cpt.add_argument("file")
    cpt.add_argument("--quiet", action="store_true", help="no progress bar")
    cpt.set_defaults(func=cmd_cpt_import)

    exp = commands.add_parser("export", help="export the record as NDJSON, one file per resource type")
    exp.add_argument("--out", default="export")
    exp.add_argument("--type", help="comma-separated resource types (default: all)")
    exp.add_argument("-q", "--quiet", action="store_true")
    exp.set_defaults(func=cmd_export)

    statements_parser = commands.add_parser("statements", help="make patient statements for everyone who owes")
    statements_parser.add_argument("--minimum", default="5.00", help="smallest balance that gets a statement")
    statements_parser.add_argument("--date", help="statement date, YYYY-MM-DD (default: today)")
    statements_parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    statements_parser.set_defaults(func=cmd_statements)

    demo = commands.add_parser("demo", help="load the demo practice (safe to run again)")
    demo.set_defaults(func=cmd_demo)

    audit_parser = commands.add_parser("audit", help="work with the audit log")
    audit_commands = audit_parser.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="recompute the hash chain and report the first broken entry")
    verify.add_argument("--anchor", help="a head hash printed by an earlier run: fail if it is no longer in the log")
    verify.set_defaults(func=cmd_audit_verify)

    keys_parser = commands.add_parser("keys", help="manage the keys that encrypt secrets in the database")
    keys_commands = keys_parser.add_subparsers(dest="keys_command", required=True)
    keys_commands.add_parser("new", help="put a new key first in the key file (older keys stay)").set_defaults(
        func=cmd_keys_new)
    keys_commands.add_parser("rotate", help="re-encrypt every stored secret with the newest key").set_defaults(
        func=cmd_keys_rotate)

    token = commands.add_parser("token", help="issue an API access token for a user, to try the API with curl")
    token.add_argument("username")
    token.add_argument("--scope", default="user/*.cruds", help="SMART scopes (default: user/*.cruds)")
    token.add_argument("--patient", help="launch context: limit the token to this patient's record")
    token.add_argument("--location", help="the Location id the user works at: roles given for it apply")
    token.add_argument("--hours", type=float, default=1.0, help="lifetime in hours (default 1)")
    token.set_defaults(func=cmd_token)

    listen = commands.add_parser("mllp-listen", help="receive lab results (HL7 ORU^R01) over MLLP")
    listen.add_argument("--host", help="address to listen on (default MEDERI_MLLP_HOST or 127.0.0.1)")
    listen.add_argument("--port", type=int, help="port (default MEDERI_MLLP_PORT or 2575)")
    listen.set_defaults(func=cmd_mllp_listen)

    mail = commands.add_parser("mail-listen", help="take patients' emails to the practice for the front-desk agent (SMTP)")
    mail.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    mail.add_argument("--port", type=int, default=2525, help="port (default 2525)")
    mail.set_defaults(func=cmd_mail_listen)

    send = commands.add_parser("mllp-send", help="send the HL7 messages of a file to an MLLP listener")
    send.add_argument("file")
    send.add_argument("--host", help="default MEDERI_MLLP_HOST or 127.0.0.1")
    send.add_argument("--port", type=int, help="default MEDERI_MLLP_PORT or 2575")
    send.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each answer (default 30)")
    send.set_defaults(func=cmd_mllp_send)

    check = commands.add_parser("check", help="check configuration and the stored record")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    _django()
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
