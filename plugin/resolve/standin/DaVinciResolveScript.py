"""A stand-in for DaVinci Resolve's scripting module, for running Revoice.py without Resolve.

Put this folder on PYTHONPATH and ``import DaVinciResolveScript as dvr;
dvr.scriptapp("Resolve")`` returns a recording stand-in of Resolve holding
one project described by a scene file (JSON) named in ``REVOICE_STANDIN_SCENE``.
Every call the script makes is recorded (in ``Resolve.calls``, and appended
as one JSON line per call to ``REVOICE_STANDIN_CALLS`` when that is set).

It implements only the documented calls Revoice.py uses (Resolve scripting
README, 2025), with Resolve's conventions: 1-based track indices, frames as
absolute timeline frames (markers: offsets from the start), None/False/[] for
calls that fail. A call it does not know raises AttributeError, so a script
using an undocumented call fails here too. ``Timeline.Export`` copies the
scene's ``export_otio`` file (a real OTIO written by the test) to the path.

Scene file::

    {"project": "Demo", "current_timeline": 0, "timelines": [{
        "name": "Scene 12", "start_frame": 86400, "end_frame": 87080,
        "settings": {"timelineFrameRate": "23.976", "timelineDropFrameTimecode": "0"},
        "export_otio": "/abs/scene.otio",
        "tracks": {"video": ["V1"], "audio": ["A1 Dialogue"], "subtitle": ["Subtitle 1"]},
        "items": {"subtitle": {"1": [{"name": "ANNA: Hello.", "start": 86424, "end": 86460}]}},
        "markers": {"96": {"color": "Blue", "duration": 24, "name": "", "note": "ANNA: Hi.", "customData": ""}}}]}
"""

from __future__ import annotations

import json
import os
import shutil
import wave
from pathlib import Path
from typing import Any, Dict, List, Optional

SCENE_ENV = "REVOICE_STANDIN_SCENE"
CALLS_ENV = "REVOICE_STANDIN_CALLS"
TRACK_TYPES = ("video", "audio", "subtitle")
AUDIO_TYPES = ("mono", "stereo", "5.1", "5.1film", "7.1", "7.1film") + tuple(f"adaptive{n}" for n in range(1, 25))


def scriptapp(name: str) -> Optional[Resolve]:
    """``Resolve`` for "Resolve" (built from the scene in ``REVOICE_STANDIN_SCENE``), else None."""
    if name != "Resolve":
        return None
    scene_path = os.environ.get(SCENE_ENV)
    if not scene_path:
        raise RuntimeError(f"stand-in DaVinciResolveScript: set {SCENE_ENV} to a scene JSON file")
    scene = json.loads(Path(scene_path).read_text(encoding="utf-8"))
    return Resolve(scene, calls_path=os.environ.get(CALLS_ENV))


def _ref(value: Any) -> Any:
    """A call argument or result as JSON: stand-in objects become {"$": class, ...}."""
    if isinstance(value, _Recorded):
        return value.describe()
    if isinstance(value, dict):
        return {str(k): _ref(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_ref(v) for v in value]
    return value


class _Recorder:
    def __init__(self, calls_path: Optional[str]) -> None:
        self.calls: List[Dict[str, Any]] = []
        self.path = Path(calls_path) if calls_path else None

    def record(self, target: _Recorded, method: str, args: tuple[Any, ...], result: Any) -> Any:
        entry = {"seq": len(self.calls) + 1, "object": type(target).__name__, "target": target.describe(),
                 "method": method, "args": _ref(list(args)), "result": _ref(result)}
        self.calls.append(entry)
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")
        return result


class _Recorded:
    """Base of every stand-in object: ``_call`` records a call and its result."""

    recorder: _Recorder

    def describe(self) -> Dict[str, Any]:
        return {"$": type(self).__name__}

    def _call(self, method: str, args: tuple[Any, ...], result: Any) -> Any:
        return self.recorder.record(self, method, args, result)


class Resolve(_Recorded):
    EXPORT_AAF, EXPORT_DRT, EXPORT_EDL, EXPORT_FCP_7_XML, EXPORT_FCPXML_1_10, EXPORT_OTIO = 0, 1, 2, 3, 4, 13
    EXPORT_NONE, EXPORT_AAF_NEW, EXPORT_AAF_EXISTING = 0, 1, 2

    def __init__(self, scene: Dict[str, Any], *, calls_path: Optional[str] = None) -> None:
        self.recorder = _Recorder(calls_path)
        self.calls = self.recorder.calls
        self.project = Project(self, scene)

    def GetProjectManager(self) -> ProjectManager:
        return self._call("GetProjectManager", (), ProjectManager(self))  # type: ignore[no-any-return]


class ProjectManager(_Recorded):
    def __init__(self, resolve: Resolve) -> None:
        self.recorder, self.resolve = resolve.recorder, resolve

    def GetCurrentProject(self) -> Project:
        return self._call("GetCurrentProject", (), self.resolve.project)  # type: ignore[no-any-return]


class Project(_Recorded):
    def __init__(self, resolve: Resolve, scene: Dict[str, Any]) -> None:
        self.recorder, self.resolve = resolve.recorder, resolve
        self.name = str(scene.get("project", "Untitled Project"))
        self.settings = {str(k): str(v) for k, v in (scene.get("project_settings") or {}).items()}
        self.timelines = [Timeline(self, spec) for spec in scene.get("timelines", [])]
        index = scene.get("current_timeline", 0)
        self.current: Optional[Timeline] = self.timelines[index] if index is not None and self.timelines else None
        self.media_pool = MediaPool(self)

    def describe(self) -> Dict[str, Any]:
        return {"$": "Project", "name": self.name}

    def GetName(self) -> str:
        return self._call("GetName", (), self.name)  # type: ignore[no-any-return]

    def GetSetting(self, name: str = "") -> Any:
        """Project settings: the scene's ``project_settings``, else its first timeline's settings."""
        settings = self.settings if self.settings else (self.timelines[0].settings if self.timelines else {})
        return self._call("GetSetting", (name,), settings.get(name, "") if name else dict(settings))

    def GetCurrentTimeline(self) -> Optional[Timeline]:
        return self._call("GetCurrentTimeline", (), self.current)  # type: ignore[no-any-return]

    def SetCurrentTimeline(self, timeline: Timeline) -> bool:
        ok = timeline in self.timelines
        if ok:
            self.current = timeline
        return self._call("SetCurrentTimeline", (timeline,), ok)  # type: ignore[no-any-return]

    def GetTimelineCount(self) -> int:
        return self._call("GetTimelineCount", (), len(self.timelines))  # type: ignore[no-any-return]

    def GetTimelineByIndex(self, index: int) -> Optional[Timeline]:
        found = self.timelines[index - 1] if 1 <= index <= len(self.timelines) else None
        return self._call("GetTimelineByIndex", (index,), found)  # type: ignore[no-any-return]

    def GetMediaPool(self) -> MediaPool:
        return self._call("GetMediaPool", (), self.media_pool)  # type: ignore[no-any-return]


class Folder(_Recorded):
    def __init__(self, project: Project, name: str) -> None:
        self.recorder, self.name = project.recorder, name
        self.clips: List[MediaPoolItem] = []
        self.subfolders: List[Folder] = []

    def describe(self) -> Dict[str, Any]:
        return {"$": "Folder", "name": self.name}

    def GetName(self) -> str:
        return self._call("GetName", (), self.name)  # type: ignore[no-any-return]

    def GetClipList(self) -> List[MediaPoolItem]:
        return self._call("GetClipList", (), list(self.clips))  # type: ignore[no-any-return]

    def GetSubFolderList(self) -> List[Folder]:
        return self._call("GetSubFolderList", (), list(self.subfolders))  # type: ignore[no-any-return]


class MediaPoolItem(_Recorded):
    """An imported WAV; its length in frames is at the project's (first timeline's) rate."""

    def __init__(self, project: Project, path: Path, samples: int, sample_rate: int, fps: float) -> None:
        self.recorder, self.path = project.recorder, path
        self.samples, self.sample_rate = samples, sample_rate
        self.frames = round(samples * fps / sample_rate)

    def describe(self) -> Dict[str, Any]:
        return {"$": "MediaPoolItem", "path": str(self.path)}

    def GetName(self) -> str:
        return self._call("GetName", (), self.path.name)  # type: ignore[no-any-return]

    def GetClipProperty(self, name: Optional[str] = None) -> Any:
        props = {"File Path": str(self.path), "File Name": self.path.name, "Clip Name": self.path.name,
                 "Type": "Audio", "Frames": str(self.frames), "Sample Rate": str(self.sample_rate),
                 "Audio Ch": "1"}
        return self._call("GetClipProperty", (name,) if name is not None else (),
                          props if name is None else props.get(name, ""))


class MediaPool(_Recorded):
    def __init__(self, project: Project) -> None:
        self.recorder, self.project = project.recorder, project
        self.root = Folder(project, "Master")
        self.current = self.root

    def GetRootFolder(self) -> Folder:
        return self._call("GetRootFolder", (), self.root)  # type: ignore[no-any-return]

    def AddSubFolder(self, folder: Folder, name: str) -> Optional[Folder]:
        made = None
        if isinstance(folder, Folder) and name and all(f.name != name for f in folder.subfolders):
            made = Folder(self.project, name)
            folder.subfolders.append(made)
        return self._call("AddSubFolder", (folder, name), made)  # type: ignore[no-any-return]

    def GetCurrentFolder(self) -> Folder:
        return self._call("GetCurrentFolder", (), self.current)  # type: ignore[no-any-return]

    def SetCurrentFolder(self, folder: Folder) -> bool:
        ok = isinstance(folder, Folder)
        if ok:
            self.current = folder
        return self._call("SetCurrentFolder", (folder,), ok)  # type: ignore[no-any-return]

    def _all_clips(self) -> List[MediaPoolItem]:
        out, todo = [], [self.root]
        while todo:
            folder = todo.pop()
            out += folder.clips
            todo += folder.subfolders
        return out

    def ImportMedia(self, paths: List[str]) -> List[MediaPoolItem]:
        """Readable WAVs not yet in the pool become items of the current folder (others are skipped)."""
        fps = self.project.timelines[0].fps if self.project.timelines else 24.0
        made: List[MediaPoolItem] = []
        known = {os.path.abspath(str(c.path)) for c in self._all_clips()}
        for raw in paths if isinstance(paths, list) else []:
            path = Path(str(raw))
            if os.path.abspath(path) in known:
                continue
            try:
                with wave.open(str(path), "rb") as handle:
                    samples, rate = handle.getnframes(), handle.getframerate()
            except (OSError, EOFError, wave.Error):
                continue
            item = MediaPoolItem(self.project, path, samples, rate, fps)
            self.current.clips.append(item)
            known.add(os.path.abspath(path))
            made.append(item)
        return self._call("ImportMedia", (paths,), made)  # type: ignore[no-any-return]

    def AppendToTimeline(self, clip_infos: List[Dict[str, Any]]) -> List[TimelineItem]:
        """Clip infos onto the current timeline; an invalid one is skipped (Resolve places what it can)."""
        timeline = self.project.current
        placed: List[TimelineItem] = []
        for info in clip_infos if isinstance(clip_infos, list) and timeline is not None else []:
            item = timeline.place(info) if isinstance(info, dict) and timeline is not None else None
            if item is not None:
                placed.append(item)
        return self._call("AppendToTimeline", (clip_infos,), placed)  # type: ignore[no-any-return]

    def ImportTimelineFromFile(self, path: str, options: Optional[Dict[str, Any]] = None) -> Optional[Timeline]:
        """A new timeline from an OTIO file; None for an unreadable file or a name already used."""
        options = options or {}
        created = None
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            doc = None
        if isinstance(doc, dict) and str(doc.get("OTIO_SCHEMA", "")).startswith("Timeline."):
            name = str(options.get("timelineName") or doc.get("name") or Path(path).stem)
            if all(t.name != name for t in self.project.timelines):
                base = self.project.timelines[0].spec if self.project.timelines else {}
                tracks: Dict[str, List[str]] = {"video": [], "audio": [], "subtitle": []}
                for track in (doc.get("tracks") or {}).get("children") or []:
                    kind = "video" if track.get("kind") == "Video" else "audio"
                    tracks[kind].append(str(track.get("name") or ""))
                created = Timeline(self.project, {"name": name, "start_frame": base.get("start_frame", 0),
                                                  "settings": base.get("settings", {}), "tracks": tracks})
                self.project.timelines.append(created)
        return self._call("ImportTimelineFromFile", (path, options), created)  # type: ignore[no-any-return]


class Timeline(_Recorded):
    def __init__(self, project: Project, spec: Dict[str, Any]) -> None:
        self.recorder, self.project, self.spec = project.recorder, project, spec
        self.name = str(spec.get("name", "Timeline 1"))
        self.start_frame = int(spec.get("start_frame", 0))
        self.settings = {str(k): str(v) for k, v in (spec.get("settings") or {}).items()}
        rate = float(self.settings.get("timelineFrameRate", "24").split()[0])
        nominal = round(rate * 1.001)
        self.fps = nominal * 1000 / 1001 if rate != round(rate) and abs(rate * 1.001 - nominal) < 0.01 else rate
        self.tracks: Dict[str, List[Dict[str, Any]]] = {kind: [] for kind in TRACK_TYPES}
        for kind in TRACK_TYPES:
            for number, name in enumerate((spec.get("tracks") or {}).get(kind, []), start=1):
                specs = ((spec.get("items") or {}).get(kind) or {}).get(str(number), [])
                track: Dict[str, Any] = {"name": str(name), "type": "mono" if kind == "audio" else "",
                                         "enabled": True, "items": []}
                track["items"] = [TimelineItem(self, kind, number, str(s.get("name", "")), int(s["start"]),
                                               int(s["end"])) for s in specs]
                self.tracks[kind].append(track)
        self.markers = {float(k): dict(v) for k, v in (spec.get("markers") or {}).items()}

    def describe(self) -> Dict[str, Any]:
        return {"$": "Timeline", "name": self.name}

    def _track(self, kind: str, index: int) -> Optional[Dict[str, Any]]:
        tracks = self.tracks.get(kind, [])
        return tracks[index - 1] if isinstance(index, int) and 1 <= index <= len(tracks) else None

    def GetName(self) -> str:
        return self._call("GetName", (), self.name)  # type: ignore[no-any-return]

    def GetStartFrame(self) -> int:
        return self._call("GetStartFrame", (), self.start_frame)  # type: ignore[no-any-return]

    def GetEndFrame(self) -> int:
        return self._call("GetEndFrame", (), int(self.spec.get("end_frame", self.start_frame)))  # type: ignore[no-any-return]

    def GetSetting(self, name: str = "") -> Any:
        return self._call("GetSetting", (name,), self.settings.get(name, "") if name else dict(self.settings))

    def GetTrackCount(self, kind: str) -> int:
        return self._call("GetTrackCount", (kind,), len(self.tracks.get(kind, [])))  # type: ignore[no-any-return]

    def GetTrackName(self, kind: str, index: int) -> str:
        track = self._track(kind, index)
        return self._call("GetTrackName", (kind, index), track["name"] if track else "")  # type: ignore[no-any-return]

    def SetTrackName(self, kind: str, index: int, name: str) -> bool:
        track = self._track(kind, index)
        if track is not None:
            track["name"] = str(name)
        return self._call("SetTrackName", (kind, index, name), track is not None)  # type: ignore[no-any-return]

    def GetIsTrackEnabled(self, kind: str, index: int) -> bool:
        track = self._track(kind, index)
        return self._call("GetIsTrackEnabled", (kind, index), bool(track and track["enabled"]))  # type: ignore[no-any-return]

    def AddTrack(self, kind: str, options: Any = None) -> bool:
        """Append a track (or insert at options["index"]); audio takes "audioType" / a sub-type string."""
        audio_type = options.get("audioType", "mono") if isinstance(options, dict) else (options or "mono")
        ok = kind in TRACK_TYPES and (kind != "audio" or audio_type in AUDIO_TYPES)
        if ok:
            tracks = self.tracks[kind]
            track: Dict[str, Any] = {"name": f"{kind[0].upper()}{len(tracks) + 1}",
                                     "type": audio_type if kind == "audio" else "", "enabled": True, "items": []}
            index = options.get("index") if isinstance(options, dict) else None
            if isinstance(index, int) and 1 <= index <= len(tracks):
                tracks.insert(index - 1, track)
            else:
                tracks.append(track)
        return self._call("AddTrack", (kind,) + ((options,) if options is not None else ()), ok)  # type: ignore[no-any-return]

    def GetItemListInTrack(self, kind: str, index: int) -> List[TimelineItem]:
        track = self._track(kind, index)
        return self._call("GetItemListInTrack", (kind, index), list(track["items"]) if track else [])  # type: ignore[no-any-return]

    def GetMarkers(self) -> Dict[float, Dict[str, Any]]:
        return self._call("GetMarkers", (), dict(self.markers))  # type: ignore[no-any-return]

    def Export(self, path: str, export_type: int, export_subtype: int = Resolve.EXPORT_NONE) -> bool:
        """Only OTIO export is modelled: copies the scene's ``export_otio`` file to ``path``."""
        source = self.spec.get("export_otio")
        ok = export_type == Resolve.EXPORT_OTIO and export_subtype == Resolve.EXPORT_NONE and bool(source)
        if ok:
            try:
                shutil.copyfile(str(source), str(path))
            except OSError:
                ok = False
        return self._call("Export", (path, export_type, export_subtype), ok)  # type: ignore[no-any-return]

    def place(self, info: Dict[str, Any]) -> Optional[TimelineItem]:
        """One AppendToTimeline clip info, checked the way the README documents it."""
        item, track = info.get("mediaPoolItem"), self._track("audio", info.get("trackIndex", 1))
        start, end, record = info.get("startFrame", 0), info.get("endFrame"), info.get("recordFrame")
        if not isinstance(item, MediaPoolItem) or track is None or info.get("mediaType") not in (None, 1, 2):
            return None
        if not (isinstance(start, (int, float)) and isinstance(end, (int, float)) and isinstance(record, (int, float))):
            return None
        if not 0 <= start <= end < item.frames:
            return None
        placed = TimelineItem(self, "audio", self.tracks["audio"].index(track) + 1, item.path.name,
                              int(record), int(record) + int(end) - int(start) + 1, item)
        track["items"].append(placed)
        return placed


class TimelineItem(_Recorded):
    def __init__(self, timeline: Timeline, kind: str, track: int, name: str, start: int, end: int,
                 media: Optional[MediaPoolItem] = None) -> None:
        self.recorder, self.timeline = timeline.recorder, timeline
        self.kind, self.track, self.name, self.start, self.end = kind, track, name, start, end
        self.takes: List[MediaPoolItem] = [media] if media is not None else []

    def describe(self) -> Dict[str, Any]:
        return {"$": "TimelineItem", "track": [self.kind, self.track], "name": self.name, "start": self.start}

    def GetName(self) -> str:
        return self._call("GetName", (), self.name)  # type: ignore[no-any-return]

    def GetStart(self) -> int:
        return self._call("GetStart", (), self.start)  # type: ignore[no-any-return]

    def GetEnd(self) -> int:
        return self._call("GetEnd", (), self.end)  # type: ignore[no-any-return]

    def GetDuration(self) -> int:
        return self._call("GetDuration", (), self.end - self.start)  # type: ignore[no-any-return]

    def GetTrackTypeAndIndex(self) -> List[Any]:
        return self._call("GetTrackTypeAndIndex", (), [self.kind, self.track])  # type: ignore[no-any-return]

    def AddTake(self, media: MediaPoolItem, start: Optional[int] = None, end: Optional[int] = None) -> bool:
        ok = isinstance(media, MediaPoolItem) and (start is None or end is None or 0 <= start <= end < media.frames)
        if ok:
            self.takes.append(media)
        return self._call("AddTake", (media,) + tuple(v for v in (start, end) if v is not None), ok)  # type: ignore[no-any-return]

    def GetTakesCount(self) -> int:
        return self._call("GetTakesCount", (), len(self.takes) if len(self.takes) > 1 else 0)  # type: ignore[no-any-return]
