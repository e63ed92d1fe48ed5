"""Entry point for `python -m labsetup`."""

from labsetup.cli import main

raise SystemExit(main())
