"""``python -m ui``: the Revoice panel."""

from revoice.ui.app import main

raise SystemExit(main())
