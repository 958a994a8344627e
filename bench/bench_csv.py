"""A CSV import of N rows, timed: first into an empty account, then the same file again.

    DATA_DIR=... [DATABASE_URL=...] .venv/bin/python bench/bench_csv.py --rows 100000

The file has the columns of a typical CRM export (email, first and last name, company,
company domain, position, phone, status, score, a custom column); one company per 50 rows.
It is uploaded, mapped and run in-process exactly as the import page does it
(``csv_import_create``, ``csv_import_start``, then the job ``csv_import_run`` that a worker
runs), so the figure is the job's own time: parsing, validation, the writes and the history.
The second run imports the same file into the same account with existing leads updated (the
"fill empty fields" policy where it exists; before it, "create or update by email").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("CRM_ROOT", Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402

from csvimport import services  # noqa: E402
from csvimport.models import CsvImport  # noqa: E402

STATUSES = ("new", "contacted", "qualified", "converted", "lost")


def csv_text(rows: int) -> str:
    lines = ["Email,First Name,Last Name,Company,Company Domain,Job Title,Phone,Status,Score,"
             "Region"]  # fmt: skip
    for n in range(rows):
        company = n // 50
        lines.append(
            f"p{n}@f{company}.io,F{n},L{n},Firm {company},f{company}.io,CTO,"
            f"+1 555 {n % 10000:04d},{STATUSES[n % 5]},{n % 101},EU"
        )
    return "\n".join(lines) + "\n"


def run(user, text: str, mode: str) -> tuple[float, CsvImport]:
    csv_import = services.csv_import_create(user=user, filename="bench.csv", raw=text.encode())
    mapping = {
        str(i): target
        for i, target in enumerate(
            ["email", "first_name", "last_name", "company", "company_domain", "position",
             "phone", "status", "score", "custom:Region"]
        )
    }  # fmt: skip
    assert services.csv_import_start(csv_import=csv_import, mapping=mapping, mode=mode)
    started = time.perf_counter()
    state = services.csv_import_run(import_id=csv_import.pk)
    spent = time.perf_counter() - started
    csv_import.refresh_from_db()
    assert state in ("succeeded", "partial"), (state, csv_import.error)
    return spent, csv_import


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True
    )
    from django.conf import settings

    import csvimport.tasks

    settings.CELERY_TASK_ALWAYS_EAGER = False
    user, _ = get_user_model().objects.get_or_create(username=f"csvbench-{time.time_ns()}")
    text = csv_text(args.rows)
    # csv_import_start queues the job on commit; the bench runs it itself instead.
    csvimport.tasks.run_csv_import.delay = lambda *a, **k: None
    upsert = "upsert" if "upsert" in CsvImport.Mode.values else CsvImport.Mode.values[-1]
    figures = {"vendor": connection.vendor, "rows": args.rows}
    for name, mode in (("first import", "create"), ("same file again", upsert)):
        spent, done = run(user, text, mode)
        figures[name] = {
            "seconds": round(spent, 2),
            "rows_per_second": round(args.rows / spent),
            "created": done.created,
            "updated": done.updated,
            "rejected": done.rejected,
        }
        print(
            f"{connection.vendor} CSV {name}: {args.rows:,} rows in {spent:.1f} s "
            f"({args.rows / spent:,.0f} rows/s; created {done.created:,}, updated "
            f"{done.updated:,}, rejected {done.rejected:,})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
