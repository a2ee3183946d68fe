"""``python -m drivers.sim ...``: the same as ``gatepass sim ...`` without loading the other services."""

import sys

from drivers.cli import sim_group
from gatepass.errors import GatepassError

if __name__ == "__main__":
    try:
        sim_group.main(prog_name="python -m drivers.sim")
    except GatepassError as exc:
        sys.stderr.write(f"gatepass: error: {exc}\n")
        sys.exit(2)
