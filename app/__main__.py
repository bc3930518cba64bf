"""``python -m countersign``, and the ``countersign`` script's entry point.

The CLI is imported only when the command runs: the ingest pool's worker processes
re-import the script that started them (multiprocessing's ``spawn``), and this way
they import nothing they do not use (about 0.2 s of CPU each, for every import-otlp
and every receiver start).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
