"""The ``revoice serve`` subcommand: its arguments, and the entry that runs :class:`~revoice.service.app.LocalService`.

Light on purpose: the CLI builds this parser on every call, and the web
framework is imported only when ``serve`` runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_OK, EXIT_CANNOT_START = 0, 2

DEFAULT_PORT = 47390
"""The port the Premiere panel may call: UXP allows only the origins its manifest lists, port included."""


def add_serve_parser(sub: Any) -> None:
    """Add ``serve`` to the CLI's subparsers (``sub`` is what ``add_subparsers`` returned)."""
    serve = sub.add_parser("serve", help="run the local engine service the NLE plugins talk to (127.0.0.1 only)",
                           description="Run the local engine service for the Resolve script and the Premiere "
                                       "panel (docs/service-api.md). It listens on 127.0.0.1 only and writes "
                                       "its port and token to service.json in the per-user state folder "
                                       "(REVOICE_STATE_DIR overrides it). Stop it with Ctrl+C or SIGTERM.")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT,
                       help=f"port to listen on (default {DEFAULT_PORT}, the one the Premiere panel may call; "
                            "0: any free port, for the Resolve script only)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="loopback address to bind (default 127.0.0.1; any other address is refused)")


def serve_main(args: argparse.Namespace) -> int:
    """``revoice serve``: 0 after a clean stop, 2 when it cannot start (one line on stderr)."""
    from revoice.privacy import offline_environment

    offline_environment()  # before the jobs load any model: no telemetry, no network
    from revoice.service.app import LocalService, ServeError, loopback_host
    from revoice.service.client import find_service, state_dir

    try:
        loopback_host(args.host)
    except ServeError as exc:
        print(f"revoice serve: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    running = find_service(state_dir())
    if running is not None:
        print(f"revoice serve: already running at {running.url}; stop it first to start another",
              file=sys.stderr)
        return EXIT_CANNOT_START
    try:
        service = LocalService(host=args.host, port=args.port)
    except ServeError as exc:
        print(f"revoice serve: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    try:
        service.run()
    except KeyboardInterrupt:  # uvicorn re-raises the SIGINT it stopped on
        pass
    return EXIT_OK
