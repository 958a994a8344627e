"""`make bench` of two checkouts, its parts run in turn, with the ratio of every figure.

    .venv/bin/python bench/compare.py /path/to/other/checkout [--label-other before]
    .venv/bin/python bench/compare.py --median-of bench/results/paired-*.json

The other checkout is another commit of this project, set up to run (a `git worktree` with
this one's `.venv` linked in does). For each database and size, both checkouts run their own
`bench/matrix.py` for that part alone, one after the other, the first of the two changing from
part to part; the imports and exports run once per database, in its 10,000-lead part. So each
side runs `make bench` once, and both see the machine as it is during each part: on this
shared machine the same request took 2.0 ms at one moment and 2.9-3.6 ms ten minutes later,
more than the 10 % a change may cost, so two whole runs one after the other could compare two
machines.

It prints one table: each figure of the other checkout, then this one's, and their ratio
(theirs over ours for times, ours over theirs for rates: under 1.00 is this checkout worse);
and writes both sides' merged results and the table to bench/results/. `--median-of` prints,
for saved runs of compare.py or paired.py, each figure's ratio in every run and their median.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.matrix import add_run_arguments, case_name  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SYNC_SIZE = 10_000  # the part that also runs the imports and exports


def _checkout_env() -> dict[str, str]:
    """This process's environment without what would choose either checkout's settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}


def run_part(checkout: Path, backend: str, size: int, args: argparse.Namespace) -> dict:
    """One database and size of ``checkout``'s own matrix.py: its result for that part."""
    results = checkout / "bench" / "results"
    before = set(results.glob("*.json")) if results.exists() else set()
    sync = args.sync_leads if size == SYNC_SIZE else 0
    command = [
        str(checkout / ".venv" / "bin" / "python"),
        "bench/matrix.py",
        f"--backends={backend}",
        f"--sizes={size}",
        f"--requests={args.requests}",
        f"--max-seconds={args.max_seconds}",
        f"--load-seconds={args.load_seconds}",
        f"--sync-leads={sync}",
    ]
    print(f"\n### {checkout}: {backend}, {size:,} leads", flush=True)
    subprocess.run(command, cwd=checkout, env=_checkout_env(), check=True)
    written = sorted(set(results.glob("*.json")) - before)
    if not written:
        raise SystemExit(f"{checkout}: matrix.py wrote no result for {backend} {size}")
    return json.loads(written[-1].read_text())[0]


def merge(parts: list[dict]) -> list[dict]:
    """The parts of one side as matrix.py's result: one entry per database."""
    merged: dict[str, dict] = {}
    for part in parts:
        entry = merged.setdefault(part["backend"], {"backend": part["backend"], "sizes": {}})
        entry["sizes"].update({int(k): v for k, v in part["sizes"].items()})
        if "sync" in part:
            entry["sync"] = part["sync"]
    return list(merged.values())


def figures(results: list[dict]) -> dict[tuple[str, str, str], tuple[float, bool]]:
    """(database, column, case) -> (figure, whether more is better)."""
    out: dict[tuple[str, str, str], tuple[float, bool]] = {}
    for entry in results:
        backend = entry["backend"]
        for size, part in entry["sizes"].items():
            column = f"{int(size) // 1000:,}k"
            for row in part["latency"]["rows"]:
                out[(backend, column, case_name(row["case"]))] = (row["p50"], False)
            if "rps" in part["load"]:
                out[(backend, column, "GET /v1/leads, 32 clients, req/s")] = (
                    part["load"]["rps"],
                    True,
                )
        for row in entry.get("sync", {}).get("rows", []):
            out[(backend, "sync", f"{row['step']}, leads/s")] = (row["rate"], True)
    return out


def _ratio(a: float, b: float, more_is_better: bool) -> float:
    """This checkout's figure ``b`` against the other's ``a``: theirs over ours for times,
    ours over theirs for rates, so under 1.00 is this checkout worse; NaN without both."""
    return (b / a if more_is_better else a / b) if a and b else float("nan")


def _rows(
    cases: list[str],
    syncs: list[str],
    columns: list[tuple[str, str]],
    cell: Callable[[tuple[str, str, str]], str],
) -> list[str]:
    """A table's rows: each case over the (database, size) columns, then the imports and
    exports per database, every cell written by ``cell((database, column, case))``."""
    lines = [
        f"| {case} | " + " | ".join(cell((b, c, case)) for b, c in columns) + " |" for case in cases
    ]
    if syncs:
        backends = list(dict.fromkeys(b for b, _ in columns))
        lines += ["", "| imports and exports | " + " | ".join(backends) + " |"]
        lines.append("|---|" + "---|" * len(backends))
        for case in syncs:
            lines.append(
                f"| {case} | " + " | ".join(cell((b, "sync", case)) for b in backends) + " |"
            )
    return lines


def table(other: list[dict], ours: list[dict], label: str) -> str:
    theirs, mine = figures(other), figures(ours)
    columns = list(dict.fromkeys((b, c) for b, c, _ in mine if c != "sync"))
    # The cases both sides ran (a case new on one side has nothing to compare with).
    cases = list(dict.fromkeys(case for _, c, case in mine if c != "sync"))
    cases = [case for case in cases if any((b, c, case) in theirs for b, c in columns)]
    lines = [
        f"p50 in ms ({label} -> this checkout, and the ratio: under 1.00 is this checkout worse)",
        "",
        "| case | " + " | ".join(f"{b} {c}" for b, c in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    worse: list[str] = []

    def cell(key: tuple[str, str, str]) -> str:
        if key not in theirs or key not in mine:
            return "—"
        (a, more_is_better), (b, _) = theirs[key], mine[key]
        ratio = _ratio(a, b, more_is_better)
        if ratio < 0.9:
            worse.append(f"{key[2]} ({key[0]} {key[1]}): {ratio:.2f}")
        shown = "{:,.0f}" if more_is_better else "{:.2f}"
        return f"{shown.format(a)} -> {shown.format(b)} ({ratio:.2f})"

    syncs = list(dict.fromkeys(case for _, c, case in mine if c == "sync"))
    lines += _rows(cases, syncs, columns, cell)
    lines += ["", "More than 10 % worse: " + ("; ".join(worse) if worse else "none")]
    return "\n".join(lines)


def ratios(saved: dict) -> dict[tuple[str, str, str], float]:
    """(database, column, case) -> the ratio of a saved run (under 1.00: this checkout worse)."""
    theirs, mine = figures(saved["other"]), figures(saved["ours"])
    out = {}
    for key, (b, more_is_better) in mine.items():
        if key in theirs and theirs[key][0] and b:
            out[key] = _ratio(theirs[key][0], b, more_is_better)
    return out


def median_table(runs: list[dict]) -> str:
    """Each figure's ratio in every saved run and the median of them.

    A single p50 here moves by up to 25 % between two runs of the same code, and a run has
    some sixty figures: one of them under 0.90 says little, the same figure under 0.90 in
    most runs says that it is slower. The ratio is taken within each run (both sides saw the
    same machine there), and the median over the runs.
    """
    each = [ratios(run) for run in runs]
    keys = list(dict.fromkeys(key for run in each for key in run))
    columns = list(dict.fromkeys((b, c) for b, c, _ in keys if c != "sync"))
    lines = [
        f"Ratio in each of {len(runs)} runs, then their median (under 1.00: this checkout "
        "worse; times are theirs over ours, rates ours over theirs)",
        "",
        "| case | " + " | ".join(f"{b} {c}" for b, c in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    worse: list[str] = []

    def cell(key: tuple[str, str, str]) -> str:
        found = [run[key] for run in each if key in run]
        if not found:
            return "—"
        middle = statistics.median(found)
        if middle < 0.9:
            worse.append(f"{key[2]} ({key[0]} {key[1]}): {middle:.2f}")
        return " ".join(f"{r:.2f}" for r in found) + f" → **{middle:.2f}**"

    cases = list(dict.fromkeys(case for _, c, case in keys if c != "sync"))
    syncs = list(dict.fromkeys(case for _, c, case in keys if c == "sync"))
    lines += _rows(cases, syncs, columns, cell)
    lines += ["", "Median more than 10 % worse: " + ("; ".join(worse) if worse else "none")]
    return "\n".join(lines)


def add_other_arguments(parser: argparse.ArgumentParser) -> None:
    """The other checkout and its name in the table (bench/paired.py takes them too)."""
    parser.add_argument("other", type=Path, help="the other checkout (set up to run)")
    parser.add_argument("--label-other", default="other", help="its name in the table")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_other_arguments(parser)
    add_run_arguments(parser)
    parser.add_argument("--max-seconds", type=float, default=15.0)
    parser.add_argument("--table-from", type=Path, help="only print the table of a saved run")
    if sys.argv[1:2] == ["--median-of"]:  # saved runs only, no checkout
        saved_runs = argparse.ArgumentParser(description=median_table.__doc__.split("\n")[0])
        saved_runs.add_argument("--median-of", type=Path, nargs="+", required=True)
        runs = []
        for path in saved_runs.parse_args().median_of:
            try:
                run = json.loads(path.read_text())
                ratios(run)  # both sides' figures, as saved
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise SystemExit(
                    f"{path}: not a saved run of compare.py or paired.py "
                    f"({type(exc).__name__}: {exc})"
                ) from None
            runs.append(run)
        print(median_table(runs))
        return
    args = parser.parse_args()
    if args.table_from:
        saved = json.loads(args.table_from.read_text())
        print(table(saved["other"], saved["ours"], saved["label"]))
        return
    other = args.other.resolve()
    if not (other / "bench" / "matrix.py").exists() or not (other / ".venv").exists():
        raise SystemExit(f"{other}: not a checkout of this project with a .venv")
    env = _checkout_env()
    for checkout in (other, ROOT):  # as `make bench` does first: the pages need them
        python = str(checkout / ".venv" / "bin" / "python")
        collect = [python, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
        subprocess.run(collect, cwd=checkout, env=env, check=True)
    sides: dict[str, list[dict]] = {"other": [], "ours": []}
    turn = 0
    for backend in args.backends.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            order = [("other", other), ("ours", ROOT)]
            for side, checkout in order if turn % 2 == 0 else order[::-1]:
                sides[side].append(run_part(checkout, backend, size, args))
            turn += 1
    other_results, our_results = merge(sides["other"]), merge(sides["ours"])
    text = table(other_results, our_results, args.label_other)
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
    saved = {"label": args.label_other, "other": other_results, "ours": our_results}
    (RESULTS / f"compare-{stamp}.json").write_text(json.dumps(saved, indent=1))
    (RESULTS / f"compare-{stamp}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
