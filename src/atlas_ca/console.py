"""The ``atlas-ca`` console script: the command line if its extra is installed, else one line.

The core library does not depend on click (issue 12: ``pip install atlas-ca`` is the library; the
command line is ``pip install 'atlas-ca[cli]'``), so the script checks for it before importing
:mod:`atlas_ca.cli` and says what to install instead of showing a traceback.
"""

from __future__ import annotations

import sys

CLI_MISSING = "atlas-ca: the command line needs the [cli] extra: pip install 'atlas-ca[cli]'"
EXIT_MISSING = 3


def main() -> None:
    """Run :func:`atlas_ca.cli.main`, or exit with :data:`EXIT_MISSING` naming the extra."""
    try:
        import click  # noqa: F401
    except ImportError:
        print(CLI_MISSING, file=sys.stderr)
        raise SystemExit(EXIT_MISSING) from None
    from atlas_ca.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
