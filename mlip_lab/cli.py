"""The ``mlip-lab`` command: ``doctor``, ``data info``, ``data validate``, ``data build`` and ``course html``."""

from __future__ import annotations

import argparse
import sys

from mlip_lab.errors import MLIPLabError


def _doctor(args) -> int:
    from mlip_lab.doctor import report, run_checks

    text, healthy = report(run_checks())
    print(text)
    return 0 if healthy else 1


def _data_info(args) -> int:
    from mlip_lab.data import load

    print(load(args.dataset).describe())
    return 0


def _data_validate(args) -> int:
    from mlip_lab.data import load

    ds = load(args.path)
    print(f"{args.path}: valid, {len(ds)} configurations of {ds.n_atoms.min()}-{ds.n_atoms.max()} atoms, "
          f"fields {', '.join(ds.labelled_fields)}")
    return 0


def _data_build(args) -> int:
    from mlip_lab.data.reference.__main__ import main as reference_main

    return reference_main(["build", args.name] + (["--workers", str(args.workers)] if args.workers else []))


def _course_html(args) -> int:
    from mlip_lab.lessons.notebook_run import course_notebooks
    from mlip_lab.lessons.static_html import build_course_html, export_course_html

    if args.executed is not None:
        if args.quick:
            raise MLIPLabError("--quick runs the notebooks; with --executed they already ran (their mode is recorded)")
        index = export_course_html(course_notebooks(args.executed, args.notebooks), args.out, cdn=args.cdn)
    else:
        index = build_course_html(course_notebooks(args.notebooks_dir, args.notebooks), args.out, quick=args.quick,
                                  timeout=args.timeout, cdn=args.cdn)
    print(f"wrote {index}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlip-lab", description="MLIP Lab command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="check the install and say what to fix").set_defaults(func=_doctor)
    data = sub.add_parser("data", help="inspect, validate or build datasets")
    dsub = data.add_subparsers(dest="data_command", required=True)
    info = dsub.add_parser("info", help="summarise a shipped dataset (by name) or a file")
    info.add_argument("dataset", help="shipped name (e.g. reactions) or a .npz/.extxyz path")
    info.set_defaults(func=_data_info)
    val = dsub.add_parser("validate", help="check a dataset file; exit 1 with the reason if it is invalid")
    val.add_argument("path")
    val.set_defaults(func=_data_validate)
    build = dsub.add_parser("build", help="build or continue a reference dataset with PySCF (needs the qc extra)")
    build.add_argument("name")
    build.add_argument("--workers", type=int, default=None)
    build.set_defaults(func=_data_build)
    course = sub.add_parser("course", help="tools for teaching the course")
    csub = course.add_subparsers(dest="course_command", required=True)
    pages = csub.add_parser("html", help="run the notebooks and export them to static HTML with their widgets")
    pages.add_argument("notebooks", nargs="*", help="stems or files to export (default: every notebook, in order)")
    pages.add_argument("--notebooks-dir", default="notebooks")
    pages.add_argument("--out", default="build/course-html", help="folder for index.html and the lessons' pages")
    pages.add_argument("--quick", action="store_true", help="quick mode (small data, few epochs): checks the build")
    pages.add_argument("--timeout", type=int, default=1800, help="seconds per notebook (default 1800)")
    pages.add_argument("--executed", default=None, metavar="DIR",
                       help="export the executed notebooks in DIR (benchmarks/course.py --keep DIR) without running "
                            "them again")
    pages.add_argument("--cdn", action="store_true",
                       help="link the widget scripts from the web instead of copying them (no npm needed)")
    pages.set_defaults(func=_course_html)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MLIPLabError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 1


def _one_line(message: str) -> str:
    """``message`` with its line breaks folded into spaces: the CLI reports every error on one line."""
    return " ".join(message.split())


if __name__ == "__main__":
    raise SystemExit(main())
