"""``python -m gatepass`` is the same as the ``gatepass`` command."""

import sys

from gatepass.cli import main

sys.exit(main())
