"""``python -m ui``: the Revoice panel."""

from ui.app import main

raise SystemExit(main())
