"""``python -m groqgen``: the ``groqgen`` command line."""

from groqgen.cli import main

raise SystemExit(main())
