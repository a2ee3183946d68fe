"""Run every benchmark: ``python -m bench [--quick] [NAME ...]``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all), e.g. codecs")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    here = Path(__file__).parent
    modules = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    wanted = [m for m in modules if not args.names or m.removeprefix("bench_") in args.names]
    if not wanted:
        print(f"no benchmark matches; have: {', '.join(m.removeprefix('bench_') for m in modules)}")
        return 2
    for name in wanted:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name.removeprefix('bench_')}", flush=True)
        for result in module.run(quick=args.quick):
            print("  " + result.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
