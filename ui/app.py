"""Start the Revoice panel: ``python -m ui [TIMELINE [SUBTITLES]]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from PyQt6.QtWidgets import QApplication
from revoice.ui.settings import APPLICATION, ORGANIZATION, settings_dir_from_env, use_settings_dir
from revoice.ui.theme import apply_theme

from revoice.privacy import offline_environment


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="revoice panel", description="The Revoice panel (desktop window).")
    parser.add_argument("timeline", nargs="?", type=Path, help="timeline to open (.otio, .otioz, .xml, .edl)")
    parser.add_argument("subtitles", nargs="?", type=Path, help="its subtitle file (.srt, .vtt, .ass)")
    parser.add_argument("--rate", type=float, help="frame rate for an EDL")
    parser.add_argument("--demo", action="store_true", help="open the embedded demo scene")
    parser.add_argument("--settings-dir", type=Path,
                        help="keep settings in this folder (default: the platform's usual place)")
    return parser


def create_app(argv: Sequence[str] = ("revoice-panel",)) -> QApplication:
    """The QApplication with Revoice's names and dark theme (reused if one exists)."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(argv))
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Revoice")
    apply_theme(app)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Open the panel (``argv`` without the program name, like ``revoice.cli.main``); the exit code."""
    offline_environment()  # before any model loads: no telemetry, no network (revoice.privacy)
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    settings_dir_from_env()
    if args.settings_dir is not None:
        use_settings_dir(args.settings_dir)
    app = create_app(sys.argv[:1] or ["revoice-panel"])
    from revoice.ui.window import RevoiceWindow

    window = RevoiceWindow()
    window.show()
    if args.demo:
        window.open_demo()
    elif args.timeline is not None:
        window.open_files(args.timeline, args.subtitles, rate=args.rate)
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(main())
