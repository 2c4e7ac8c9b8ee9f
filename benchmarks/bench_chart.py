"""The patient chart's server time for the largest shared Synthea patient (thousands of resources).

    .venv/bin/python benchmarks/bench_chart.py                      # SQLite: var/bench/chart/
    .venv/bin/python benchmarks/bench_chart.py --postgres postgres://postgres@127.0.0.1:5432/chart_bench
    .venv/bin/python benchmarks/bench_chart.py --runs 50

Loads the hospital and practitioner files of /work/shared/data/synthea (or --synthea DIR) and then
the largest patient file into a fresh database, signs a physician in, and times
`GET /clinical/patients/<id>/` through Django's test client (middleware, session, the chart
selector's searches, the audit entry, the template). Results go to var/bench/chart-<engine>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, ROOT, fresh_database, machine, staff_user, summary_ms, timed  # noqa: E402

SYNTHEA = ROOT.parent / "shared" / "data" / "synthea"


def synthea_files(folder: Path) -> tuple[list[Path], Path]:
    shared = sorted(folder.glob("hospitalInformation*.json")) + sorted(folder.glob("practitionerInformation*.json"))
    patients = [p for p in folder.glob("*.json") if p not in shared]
    if not patients:
        sys.exit(f"error: no Synthea patient files in {folder}")
    return shared, max(patients, key=lambda p: p.stat().st_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="PostgreSQL URL (recreated); SQLite under var/bench/chart/ otherwise")
    parser.add_argument("--synthea", type=Path, default=SYNTHEA, help="folder of Synthea bundles")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    engine = fresh_database("chart", args.postgres)
    from django.test import Client

    from mederi.core.context import Context
    from mederi.fhir.models import Resource, SearchReference
    from mederi.fhir.services import import_paths

    shared, largest = synthea_files(args.synthea)
    report = import_paths([*shared, largest], Context.system("benchmark"))
    failed = [f for f in report.files if getattr(f, "error", None)]
    if failed:
        sys.exit(f"error: import failed: {failed}")
    patient_id = Resource.objects.filter(resource_type="Patient").values_list("logical_id", flat=True).get()
    resources = SearchReference.objects.filter(target_type="Patient", target_id=patient_id).values(
        "resource_id").distinct().count()
    client = Client()
    client.force_login(staff_user("bench-physician", "Bench Physician", role="physician"))
    url = f"/clinical/patients/{patient_id}/"

    def open_chart(index: int) -> None:
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    wall, cpu = timed(open_chart, args.runs, warmup=3)
    results = {"machine": machine(), "engine": engine, "patient_file": largest.name, "patient_id": patient_id,
               "resources_referring_to_patient": resources, "chart": {"wall": summary_ms(wall), "cpu": summary_ms(cpu)}}
    print(f"{engine} chart of {largest.name} ({resources} resources): median {results['chart']['wall']['median_ms']} ms, "
          f"p95 {results['chart']['wall']['p95_ms']} ms over {args.runs} runs")
    out = BENCH_DIR / f"chart-{engine}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
