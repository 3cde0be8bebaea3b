"""The ``.otioz`` bundle: the timeline plus Revoice's own WAVs; any other local file only when asked.

OTIO's own ``otioz`` writer copies every local file a clip points at. A
vendor's timeline can point a clip at anything on the editor's disk (a
private key, a 2 GiB camera file), and all of it went into the bundle the
editor sends back. Here only the rendered WAVs under the output's
``<stem>_media`` folder are bundled by default; other local media keeps its
reference to the original path (made absolute) and is listed in one warning,
unless ``bundle_media`` asks for it. Media that is not on disk becomes a
``MissingReference`` (as OTIO's writer does), remote URLs are left as they are.

The zip is laid out as OTIO's ``otioz`` adapter writes it (``version.txt``
and ``content.otio`` deflated, media stored under ``media/``), so any OTIO
reads it.
"""

from __future__ import annotations

import copy
import os
import urllib.parse
import zipfile
from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio
from opentimelineio import url_utils
from opentimelineio.adapters import file_bundle_utils
from revoice.otio_bridge.errors import InputError
from revoice.otio_bridge.media import media_path_from_url, url_for_path

_LISTED = 10
"""Files named in the warning about media left out of a bundle; the rest are counted."""


@dataclass(frozen=True)
class BundlePlan:
    """What one ``.otioz`` will hold, worked out before anything is written."""

    timeline: otio.schema.Timeline
    """A copy of the timeline with bundled media relinked to ``media/<name>``."""
    members: tuple[tuple[Path, str], ...]
    """(file on disk, name in the zip) for each bundled file."""
    warnings: tuple[str, ...]


def own_media_dir(out: Path) -> Path:
    """Where Revoice renders the WAVs of the timeline ``out``: ``<stem>_media`` beside it."""
    return out.with_name(f"{out.stem}_media")


def plan_bundle(timeline: otio.schema.Timeline, out: Path, *, media_dir: Path | None = None,
                bundle_media: bool = False) -> BundlePlan:
    """The bundle ``out`` will be, without writing anything; :class:`InputError` when it cannot be written.

    Bundled: files under ``media_dir`` (default :func:`own_media_dir` of
    ``out``; symlinks count where they lead) and, with ``bundle_media``,
    every other local file the clips point at. Relative URLs are read from
    ``out``'s folder. Two bundled files with the same name are refused (an
    .otioz keeps one file per name).
    """
    result = copy.deepcopy(timeline)
    base_dir = out.absolute().parent
    own_root = Path(os.path.realpath(media_dir if media_dir is not None else own_media_dir(out.absolute())))
    members: dict[Path, str] = {}
    by_name: dict[str, Path] = {}
    missing: list[str] = []
    left_out: list[Path] = []
    for clip in result.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ExternalReference):
            continue
        url = ref.target_url or ""
        path = media_path_from_url(url, base_dir)
        if path is None:
            if _is_local(url):
                if (url or clip.name) not in missing:
                    missing.append(url or clip.name)
                clip.media_reference = file_bundle_utils.reference_cloned_and_missing(
                    ref, "target_url target is not a file or does not exist")
            continue
        real = Path(os.path.realpath(path))
        if not (real.is_relative_to(own_root) or bundle_media):
            ref.target_url = url_for_path(path)
            if path not in left_out:
                left_out.append(path)
            continue
        member = members.get(real)
        if member is None:
            member = f"{file_bundle_utils.BUNDLE_DIR_NAME}/{real.name}"
            if member in by_name:
                raise InputError(out, None, f"two media files share the name '{real.name}' ({by_name[member]} "
                                 f"and {real}); an .otioz holds one file per name",
                                 "Rename one of them, or leave the originals out of the bundle")
            members[real], by_name[member] = member, real
        ref.target_url = str(url_utils.url_from_filepath(member))
    warnings = [f"media not found, left out of the bundle: {url}" for url in missing]
    if left_out:
        named = ", ".join(str(p) for p in left_out[:_LISTED])
        more = f" and {len(left_out) - _LISTED} more" if len(left_out) > _LISTED else ""
        warnings.append(f"{out.name}: {len(left_out)} media file(s) not made by Revoice were left out of the "
                        f"bundle and still point at their original paths (bundle_media / --bundle-media "
                        f"bundles them): {named}{more}")
    return BundlePlan(result, tuple(members.items()), tuple(warnings))


def write_bundle(plan: BundlePlan, target: Path) -> None:
    """Write ``plan`` as a zip to ``target`` (a new file); OSError when a file cannot be read or written."""
    content = otio.adapters.write_to_string(plan.timeline, adapter_name="otio_json")
    with zipfile.ZipFile(target, mode="x", allowZip64=True) as bundle:
        bundle.writestr(file_bundle_utils.BUNDLE_VERSION_FILE, file_bundle_utils.BUNDLE_VERSION,
                        compress_type=zipfile.ZIP_DEFLATED)
        bundle.writestr(file_bundle_utils.BUNDLE_PLAYLIST_PATH, content, compress_type=zipfile.ZIP_DEFLATED)
        for source, member in plan.members:
            bundle.write(source, member, compress_type=zipfile.ZIP_STORED)


def _is_local(url: str) -> bool:
    """Whether ``url`` names a local file (``file:`` or a bare path), found or not."""
    if not url.strip():
        return True
    try:
        scheme = urllib.parse.urlparse(url.strip()).scheme.lower()
    except ValueError:
        return False
    return scheme in ("", "file") or len(scheme) == 1  # "D:/x.wav" parses as scheme "d"
