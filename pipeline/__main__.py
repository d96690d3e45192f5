"""`python -m pipeline` runs the command-line interface."""

from pipeline.cli import main

raise SystemExit(main())
