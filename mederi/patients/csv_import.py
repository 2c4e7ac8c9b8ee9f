"""Patients and appointments from another system's CSV export:
`mederi import-csv patients|appointments FILE --mapping MAPPING.json [--dry-run]`.

The mapping file says which CSV column holds each of our fields, and how dates are written:

    {"columns": {"family": "Last Name", "given": "First Name", "birth_date": "DOB", "mrn": "Chart #",
                 "payer_id": "Payer", "member_id": "Member ID"},
     "date_format": "MM/DD/YYYY"}

`date_format` is optional (without it 1974-12-25, 12/25/1974 and 12-25-1974 are all read) and
may also be a strptime pattern (`%d.%m.%Y`); `delimiter` and `encoding` are optional too. A
payer is found by its Organization id, its X12 payer id or its name.

Every row is checked with the registration rules before anything is stored. A dry run reports
every bad row (its line in the file and what is wrong) and writes nothing; a real run stores all
rows in one transaction, or — if any row is bad — none of them, with the same report.

Appointments are booked one by one through the scheduling service (its rules decide: provider
hours, times already taken, also by an earlier row of the same file) inside one transaction
that is rolled back after a dry run or when any row failed. Their mapping names `patient` (id)
or `mrn`, `practitioner` (id or NPI), `location` (id or name), `type` (appointment type code),
`date` and `time` (or one `start` column), and optionally `comment`; options `date_format`,
`time_format` (HH:MM, hh:MM AM) and `overbook` (true lets a row overlap others within the
provider's overbooking limit).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.db import transaction

from mederi.core import clock, systems
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, MederiError
from mederi.fhir.repository import Repository
from mederi.patients import matching, rules, selectors, services

FIELDS = ("family", "given", "middle", "birth_date", "gender", "phone", "email", "address_line", "city", "state",
          "postal_code", "mrn", "payer_id", "member_id", "group_number")
# Our CSV field -> the registration field it fills.
REGISTRATION_FIELD = {"payer_id": "primary_payer", "member_id": "primary_member_id",
                      "group_number": "primary_group_number"}
GENDER_WORDS = {"m": "male", "male": "male", "f": "female", "female": "female", "o": "other", "other": "other",
                "u": "unknown", "unknown": "unknown", "x": "other"}
_FRIENDLY_DATE = (("YYYY", "%Y"), ("YY", "%y"), ("MM", "%m"), ("DD", "%d"))


class MappingInvalid(InvalidRequest):
    """The mapping file (or the CSV header it is checked against) cannot be used; nothing was read."""


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str]  # our field -> CSV column
    date_format: str | None = None  # a strptime pattern
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    time_format: str | None = None  # appointments: a strptime pattern of the time column
    overbook: bool = False  # appointments: may overlap others up to the provider's overbooking limit


@dataclass
class RowProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason


@dataclass
class CsvReport:
    rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    stored_ids: list[str] = field(default_factory=list)  # ids of the Patients (or Appointments) stored
    dry_run: bool = False
    kind: str = "patients"

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_lines(self) -> list[int]:
        return sorted({p.line for p in self.problems})

    def summary(self) -> str:
        if self.problems:
            verdict = "nothing was stored" if not self.dry_run else "dry run: nothing was stored"
            return (f"{len(self.bad_lines)} of {self.rows} rows have problems ({len(self.problems)} in all); "
                    f"{verdict}. Correct them and run the import again.")
        if self.dry_run:
            return f"dry run: all {self.rows} rows are good; nothing was stored (run again without --dry-run)"
        return f"imported {len(self.stored_ids)} {self.kind} from {self.rows} rows"


def _strptime_pattern(text: str) -> str:
    if "%" in text:
        return text
    pattern = text
    for friendly, code in _FRIENDLY_DATE:
        pattern = pattern.replace(friendly, code)
    if "%" not in pattern:
        raise MappingInvalid.single(f"date_format '{text}' is not a date format: write it like MM/DD/YYYY or "
                                    "YYYY-MM-DD (or a strptime pattern like %m/%d/%Y)", expression="date_format")
    return pattern


def _read_mapping_file(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingInvalid.single(f"cannot read the mapping file {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise MappingInvalid.single(f"the mapping file {path} is not valid JSON: {exc}") from exc


def load_mapping(path: Path) -> Mapping:
    """Read a mapping file; `MappingInvalid` says what is wrong with it."""
    return mapping_from(_read_mapping_file(path))


def mapping_from(raw, fields=FIELDS, required=("family", "given", "birth_date")) -> Mapping:
    if not isinstance(raw, dict):
        raise MappingInvalid.single("the mapping must be a JSON object with a \"columns\" object")
    columns = raw.get("columns")
    if columns is None:  # a flat mapping: every key that is one of our fields
        columns = {k: v for k, v in raw.items() if k in fields}
    if not isinstance(columns, dict) or not columns:
        raise MappingInvalid.single("the mapping names no columns: give \"columns\": {\"family\": \"<CSV column>\", "
                                    "...}")
    unknown = sorted(set(columns) - set(fields))
    if unknown:
        raise MappingInvalid.single(f"unknown field(s) in the mapping: {', '.join(unknown)}; the fields are: "
                                    f"{', '.join(fields)}")
    bad = [k for k, v in columns.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise MappingInvalid.single(f"the column for {', '.join(bad)} must be a column name (text)")
    missing = [f for f in required if f not in columns]
    if missing:
        raise MappingInvalid.single(f"the mapping must say which column holds {', '.join(missing)}")
    date_format = raw.get("date_format")
    delimiter = raw.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise MappingInvalid.single("delimiter must be one character, like \",\" or \";\"")
    time_format = raw.get("time_format")
    return Mapping(dict(columns), _strptime_pattern(date_format) if date_format else None, delimiter,
                   raw.get("encoding", "utf-8-sig"), _time_pattern(time_format) if time_format else None,
                   bool(raw.get("overbook", False)))


def _time_pattern(text: str) -> str:
    if "%" in text:
        return text
    pattern = text.replace("HH", "%H").replace("hh", "%I").replace("MM", "%M").replace("mm", "%M")
    pattern = pattern.replace("AM", "%p").replace("PM", "%p")
    if "%" not in pattern:
        raise MappingInvalid.single(f"time_format '{text}' is not a time format: write it like HH:MM or hh:MM AM",
                                    expression="time_format")
    return pattern


def _check_header(mapping: Mapping, header: list[str] | None) -> None:
    if not header:
        raise MappingInvalid.single("the CSV file is empty: it has no header row")
    absent = [f"{column!r} (for {name})" for name, column in mapping.columns.items() if column not in header]
    if absent:
        raise MappingInvalid.single(f"the mapping names column(s) the file does not have: {', '.join(absent)}; "
                                    f"the file's columns are: {', '.join(repr(h) for h in header)}")


def _payer_lookup(context: Context) -> dict[str, str]:
    """Organization id, X12 payer id and lower-case name -> Organization id."""
    lookup = {}
    for payer in selectors.payers(context):
        lookup[payer.name.lower()] = payer.id
        if payer.payer_id:
            lookup[payer.payer_id] = payer.id
        lookup[payer.id] = payer.id
    return lookup


@dataclass
class _Row:
    line: int
    data: dict


def _row_data(values: dict, mapping: Mapping, payers: dict[str, str], today: date) -> tuple[dict, list[str]]:
    """The registration fields of one CSV row, and what could not be read."""
    data: dict = {"guarantor": "self", "primary_subscriber_relationship": "self"}
    problems = []
    for name, column in mapping.columns.items():
        value = " ".join((values.get(column) or "").split())
        if name == "birth_date" and value and mapping.date_format:
            try:
                value = datetime.strptime(value, mapping.date_format).date()
            except ValueError:
                problems.append(f"column {column!r} (birth_date): '{value}' is not a date in the format "
                                f"{mapping.date_format}")
                value = ""
                data["_birth_date_unreadable"] = True
        elif name == "gender" and value:
            value = GENDER_WORDS.get(value.lower(), value)
        elif name == "payer_id" and value:
            resolved = payers.get(value) or payers.get(value.lower())
            if resolved is None:
                problems.append(f"column {column!r} (payer_id): '{value}' is not a payer in the payer directory "
                                "(give its id, X12 payer id or name)")
                value = ""
            else:
                value = resolved
        data[REGISTRATION_FIELD.get(name, name)] = value
    return data, problems


def _reason(issue, mapping: Mapping) -> str:
    ours = {v: k for k, v in REGISTRATION_FIELD.items()}.get(issue.expression, issue.expression)
    column = mapping.columns.get(ours)
    where = f"column {column!r} ({ours})" if column else (ours or "row")
    return f"{where}: {issue.diagnostics}"


def count_rows(path: Path) -> int:
    """Data rows in the file (lines after the header), for a progress bar."""
    with open(path, "rb") as handle:
        return max(sum(1 for line in handle if line.strip()) - 1, 0)


def check_rows(context: Context, path: Path, mapping: Mapping, progress=None) -> tuple[list[_Row], CsvReport]:
    """Read and check every row; nothing is written."""
    report = CsvReport()
    today = selectors.today()
    payers = _payer_lookup(context) if "payer_id" in mapping.columns else {}
    good: list[_Row] = []
    seen_mrns: dict[str, int] = {}
    try:
        handle = open(path, newline="", encoding=mapping.encoding)
    except OSError as exc:
        raise MappingInvalid.single(f"cannot read {path}: {exc.strerror or exc}") from exc
    with handle:
        reader = csv.DictReader(handle, delimiter=mapping.delimiter)
        try:
            _check_header(mapping, reader.fieldnames)
            last_line = reader.line_num
            for values in reader:
                line, last_line = last_line + 1, reader.line_num
                report.rows += 1
                if None in values:
                    report.problems.append(RowProblem(line, f"the row has {len(reader.fieldnames) + len(values[None])}"
                                                            f" cells; the header has {len(reader.fieldnames)}"))
                    continue
                data, problems = _row_data(values, mapping, payers, today)
                issues = rules.registration_issues(data, today, None, with_guarantor=False, with_consents=False)
                if data.pop("_birth_date_unreadable", False):
                    issues = [i for i in issues if i.expression != "birth_date"]
                problems += [_reason(issue, mapping) for issue in issues]
                mrn = rules.text(data, "mrn")
                if mrn:
                    if mrn in seen_mrns:
                        problems.append(f"the MRN {mrn} is also on line {seen_mrns[mrn]}")
                    seen_mrns.setdefault(mrn, line)
                report.problems += [RowProblem(line, p) for p in problems]
                if not problems:
                    good.append(_Row(line, data))
                if progress:
                    progress(1)
        except UnicodeDecodeError as exc:
            raise MappingInvalid.single(f"{path} is not {mapping.encoding} text (byte {exc.start}); set "
                                        "\"encoding\" in the mapping, e.g. \"latin-1\"") from exc
        except csv.Error as exc:
            report.problems.append(RowProblem(reader.line_num, f"the CSV cannot be read here: {exc}"))
    taken = services.mrns_in_use(list(seen_mrns))
    for mrn in sorted(taken):
        report.problems.append(RowProblem(seen_mrns[mrn], f"the MRN {mrn} already belongs to a patient in the record"))
    report.problems.sort(key=lambda p: p.line)
    return good, report


def import_patients(context: Context, path: Path, mapping: Mapping, *, dry_run: bool = False,
                    progress=None) -> CsvReport:
    """Check every row and, unless `dry_run` or a row is bad, store them all in one transaction.

    `progress(n)` is called as rows are checked and again as they are stored.
    """
    rows, report = check_rows(context, Path(path), mapping, progress)
    report.dry_run = dry_run
    if dry_run or report.problems or not rows:
        return report
    today = selectors.today()
    payer_names = {p.id: p.name for p in selectors.payers(context)} if "payer_id" in mapping.columns else {}
    new_numbers = iter(services.allocate_mrns(sum(1 for r in rows if not rules.text(r.data, "mrn"))))
    moment = clock.fhir_instant(clock.now())
    repo = Repository(context)
    stored: list[str] = []
    try:
        with repo.atomic():
            for row in rows:
                mrn = rules.text(row.data, "mrn") or next(new_numbers)
                staged = services.build_registration(row.data, mrn, payer_names, today, moment, with_consents=False)
                for logical_id, resource in staged.resources:
                    repo.create(resource, logical_id=logical_id)
                stored.append(staged.patient_id)
                if progress:
                    progress(1)
    except MederiError as error:  # refused by the record (a permission, a conflict): nothing was stored
        report.problems.append(RowProblem(0, f"the record refused the import: {error}"))
        return report
    report.stored_ids = stored
    return report


# -- appointments ----------------------------------------------------------------------------------

APPOINTMENT_FIELDS = ("patient", "mrn", "practitioner", "location", "date", "time", "start", "type", "comment")
# Which of our columns a booking problem belongs to (the scheduling service names its own fields).
_BOOKING_FIELD = {"patient_id": "patient", "practitioner_id": "practitioner", "location_id": "location",
                  "start": "start", "type_code": "type", "overbook": "start"}
_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p", "%H%M")


class _RollBack(Exception):
    """Undo everything the import booked: a dry run, or a file with a bad row."""


def load_appointment_mapping(path: Path) -> Mapping:
    return appointment_mapping_from(_read_mapping_file(path))


def appointment_mapping_from(raw) -> Mapping:
    mapping = mapping_from(raw, APPOINTMENT_FIELDS, ("practitioner", "location", "type"))
    columns = mapping.columns
    if "patient" not in columns and "mrn" not in columns:
        raise MappingInvalid.single("the mapping must say which column holds the patient (\"patient\": id, or "
                                    "\"mrn\": record number)")
    if "start" not in columns and not ("date" in columns and "time" in columns):
        raise MappingInvalid.single("the mapping must say which columns hold the date and time (\"date\" and "
                                    "\"time\", or one \"start\" column like 2026-03-02 10:30)")
    return mapping


def _parse_time(text: str, pattern: str | None):
    for candidate in ([pattern] if pattern else _TIME_FORMATS):
        try:
            return datetime.strptime(text.upper() if "%p" in candidate else text, candidate).time()
        except ValueError:
            continue
    return None


def _start_of(values: dict, mapping: Mapping, today: date) -> tuple[datetime | None, str | None]:
    """The naive local start of a row (the scheduling service reads it as the practice's wall clock)."""
    columns = mapping.columns
    if "start" in columns:
        raw = " ".join((values.get(columns["start"]) or "").split())
        day_text, _, time_text = raw.partition(" ")
        where = f"column {columns['start']!r} (start)"
    else:
        day_text = (values.get(columns["date"]) or "").strip()
        time_text = (values.get(columns["time"]) or "").strip()
        raw, where = f"{day_text} {time_text}", f"columns {columns['date']!r} and {columns['time']!r}"
    if not day_text or not time_text:
        return None, f"{where}: give the date and time of the appointment"
    if mapping.date_format:
        try:
            day = datetime.strptime(day_text, mapping.date_format).date()
        except ValueError:
            day = None
    else:
        day = matching.parse_date(day_text, today)
    moment = _parse_time(time_text, mapping.time_format)
    if day is None or moment is None:
        return None, f"{where}: '{raw.strip()}' is not a date and time (like 2026-03-02 10:30)"
    return datetime.combine(day, moment), None


def _find(repo: Repository, resource_type: str, params: list[tuple[str, str]]) -> str | None:
    found = repo.search(resource_type, [*params, ("_count", "2"), ("_total", "none")]).matches
    return found[0].logical_id if len(found) == 1 else None


def _appointment_row(repo: Repository, values: dict, mapping: Mapping, today: date, cache: dict) -> tuple[dict, list]:
    """The arguments of one booking, and what could not be read or found."""
    columns, problems = mapping.columns, []

    def cell(name: str) -> str:
        return " ".join((values.get(columns[name]) or "").split()) if name in columns else ""

    def resolve(kind: str, value: str, searches) -> str:
        key = (kind, value)
        if key not in cache:
            cache[key] = next((found for params in searches if (found := _find(repo, kind, params))), value)
        return cache[key]

    patient = cell("patient")
    if cell("mrn"):
        mrn = cell("mrn")
        patient = resolve("Patient", mrn, [[("identifier", f"{systems.mrn_system()}|{mrn}")]])
        if patient == mrn and not cell("patient"):
            problems.append(f"column {columns['mrn']!r} (mrn): no patient has the MRN {mrn}")
    elif not patient:
        problems.append(f"column {columns['patient']!r} (patient): give the patient")
    practitioner = cell("practitioner")
    if practitioner:
        practitioner = resolve("Practitioner", practitioner, [[("identifier", f"{systems.NPI}|{practitioner}")]])
    location = cell("location")
    if location:
        location = resolve("Location", location, [[("name:exact", location)]])
    start, problem = _start_of(values, mapping, today)
    if problem:
        problems.append(problem)
    booking = {"patient_id": patient, "practitioner_id": practitioner, "location_id": location, "start": start,
               "type_code": cell("type"), "comment": cell("comment")}
    return booking, problems


def _booking_reason(issue, mapping: Mapping) -> str:
    ours = _BOOKING_FIELD.get(issue.expression or "", issue.expression)
    if ours == "start" and "start" not in mapping.columns:
        where = f"columns {mapping.columns['date']!r} and {mapping.columns['time']!r}"
    elif ours == "patient" and "patient" not in mapping.columns:
        where = f"column {mapping.columns['mrn']!r} (mrn)"
    else:
        column = mapping.columns.get(ours or "")
        where = f"column {column!r} ({ours})" if column else "row"
    return f"{where}: {issue.diagnostics}"


def import_appointments(context: Context, path: Path, mapping: Mapping, *, dry_run: bool = False,
                        progress=None) -> CsvReport:
    """Book every row through the scheduling service, in one transaction that is kept only when every
    row could be booked (and this is not a dry run). A row's problems are those the booking rules
    name: an unknown patient, provider, location or type, a time outside the provider's hours, a
    time already taken (by the record or by an earlier row of the file)."""
    try:
        from mederi.scheduling.services import book_appointment
    except ImportError as exc:
        raise InvalidRequest.single("importing appointments is not available yet: it books through the "
                                    "scheduling service, which this installation does not have") from exc
    report = CsvReport(dry_run=dry_run, kind="appointments")
    repo = Repository(context)
    today = selectors.today()
    cache: dict = {}
    booked: list[str] = []
    try:
        handle = open(path, newline="", encoding=mapping.encoding)
    except OSError as exc:
        raise MappingInvalid.single(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        with handle, transaction.atomic():
            reader = csv.DictReader(handle, delimiter=mapping.delimiter)
            try:
                _check_header(mapping, reader.fieldnames)
                last_line = reader.line_num
                for values in reader:
                    line, last_line = last_line + 1, reader.line_num
                    report.rows += 1
                    if progress:
                        progress(1)
                    booking, problems = _appointment_row(repo, values, mapping, today, cache)
                    if not problems:
                        try:
                            with transaction.atomic():  # a bad row is undone alone; the others stay for now
                                booked.append(book_appointment(context, **booking, overbook=mapping.overbook,
                                                               allow_past=True))
                        except MederiError as error:
                            problems += [_booking_reason(issue, mapping) for issue in error.issues]
                    report.problems += [RowProblem(line, p) for p in problems]
            except UnicodeDecodeError as exc:
                raise MappingInvalid.single(f"{path} is not {mapping.encoding} text (byte {exc.start}); set "
                                            "\"encoding\" in the mapping, e.g. \"latin-1\"") from exc
            except csv.Error as exc:
                report.problems.append(RowProblem(reader.line_num, f"the CSV cannot be read here: {exc}"))
            if dry_run or report.problems:
                raise _RollBack()
    except _RollBack:
        return report
    report.stored_ids = booked
    return report
