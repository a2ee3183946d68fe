"""``gatepass ...`` whose central server SIGKILLs itself right after each ingest commit, before replying.

Used by the reliability tests to kill the server between commit and reply.
"""

import os
import signal
import sys

from central import ingest

_commit = ingest.ingest


def _commit_then_die(*args, **kwargs):
    _commit(*args, **kwargs)  # the transaction has committed here
    os.kill(os.getpid(), signal.SIGKILL)


ingest.ingest = _commit_then_die

if __name__ == "__main__":
    from gatepass.cli import main

    sys.exit(main())
