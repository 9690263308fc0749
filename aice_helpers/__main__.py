"""Entry point for ``python -m aice_helpers``."""

import sys

from aice_helpers.cli import main

__all__ = [
]

sys.exit(main())
