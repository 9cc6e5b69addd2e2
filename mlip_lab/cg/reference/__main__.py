"""``python -m mlip_lab.cg.reference build cg_methanol``: run or continue the atomistic reference and, once
every chunk is done, write the shipped CG dataset; ``validate``: run (or continue) only the validation at
298.15 K and print its density and O-O RDF peak against experiment."""

from __future__ import annotations

import argparse

from mlip_lab.cg.reference.recipe import RECIPES


def main(argv=None) -> int:
    from mlip_lab.cg.reference.build import Reference, build, run, validation, work_dir
    from mlip_lab.cg.reference.recipe import resolve

    parser = argparse.ArgumentParser(prog="python -m mlip_lab.cg.reference", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("build", "run or continue every chunk, then assemble the dataset"),
                       ("validate", "run or continue the NPT validation at 298.15 K and print it")):
        p = sub.add_parser(name, help=text)
        p.add_argument("name", nargs="?", default="cg_methanol", choices=sorted(RECIPES))
        p.add_argument("--platform", default="CPU", help="OpenMM platform: CPU (default), CUDA, OpenCL or Reference")
        p.add_argument("--threads", type=int, default=None, help="CPU platform threads (default: OpenMM's choice, all cores)")
        p.add_argument("--max-chunks", type=int, default=None, help="run at most this many chunks, then stop")
        p.add_argument("--work-dir", default=None, help="resumable work folder (default: data/build/NAME)")
        if name == "build":
            p.add_argument("--out-dir", default=None, help="where the datasets and cards go (default: mlip_lab/datasets/)")
    args = parser.parse_args(argv)
    if args.command == "build":
        path = build(args.name, args.work_dir, args.out_dir, args.max_chunks, args.platform, args.threads)
        print(f"dataset written: {path}" if path else "not finished yet: run the same command again to continue")
        return 0
    recipe = resolve(args.name)
    if not run(recipe, args.work_dir, args.max_chunks, args.platform, args.threads, stages=("compress", "validate")):
        print("validation not finished yet: run the same command again to continue")
        return 0
    check = validation(recipe, work_dir(recipe, args.work_dir), Reference(recipe).molar_mass)
    print(check.summary())
    return 0 if check.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
