"""``python -m mlip_lab.data.reference build NAME``: build or continue a reference dataset;
``update NAME [--redraw-md]``: extend its frozen task list after a recipe change (and redraw MD snapshots)."""

from __future__ import annotations

import argparse

from mlip_lab.data.reference.build import build, update_tasks
from mlip_lab.data.reference.recipes import RECIPES


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlip_lab.data.reference", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build or continue a recipe (resumable)")
    b.add_argument("name", choices=sorted(RECIPES))
    b.add_argument("--workers", type=int, default=None, help="parallel processes (default: all cores)")
    b.add_argument("--work-dir", default=None, help="resumable work folder (default: data/build/NAME)")
    b.add_argument("--out-dir", default=None, help="where the dataset and its card go (default: mlip_lab/datasets/)")
    b.add_argument("--max-tasks", type=int, default=None, help="label at most this many configurations, then stop")
    u = sub.add_parser("update", help="add the configurations a changed recipe asks for; --redraw-md also redraws the MD snapshots")
    u.add_argument("name", choices=sorted(RECIPES))
    u.add_argument("--work-dir", default=None, help="resumable work folder (default: data/build/NAME)")
    u.add_argument("--redraw-md", action="store_true", help="redraw every MD snapshot with the current sampler and forget its label")
    args = parser.parse_args(argv)
    if args.command == "update":
        count = update_tasks(args.name, args.work_dir, redraw_md=args.redraw_md)
        print(f"{count} configurations need labels: run `build {args.name}` to label them")
        return 0
    path = build(args.name, args.work_dir, args.out_dir, args.workers, max_tasks=args.max_tasks)
    print(f"dataset written: {path}" if path else "not finished yet: run the same command again to continue")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
