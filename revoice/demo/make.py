"""Write ``demo.otio``: picture, a production-dialogue track and a music track.

The media are not shipped (the demo shows how Revoice reports missing
media); the subtitle file carries the lines.
"""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio

RATE = 24000 / 1001


def build() -> otio.schema.Timeline:
    def rt(frames: int) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(frames, RATE)

    timeline = otio.schema.Timeline(name="Revoice demo - The House", global_start_time=rt(86400))
    picture = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    dialogue = otio.schema.Track(name="A1 Dialogue", kind=otio.schema.TrackKind.Audio)
    music = otio.schema.Track(name="A2 Music", kind=otio.schema.TrackKind.Audio)
    for name, frames in (("SC12_TK3", 240), ("SC12_TK5", 216)):
        media = otio.schema.ExternalReference(
            target_url=f"media/{name}.mov",
            available_range=otio.opentime.TimeRange(rt(0), rt(frames + 48)),
        )
        clip = otio.schema.Clip(name=name, media_reference=media,
                                source_range=otio.opentime.TimeRange(rt(24), rt(frames)))
        picture.append(clip)
        audio = otio.schema.Clip(name=f"{name} boom", media_reference=otio.schema.ExternalReference(
            target_url=f"media/{name}_boom.wav",
            available_range=otio.opentime.TimeRange(rt(0), rt(frames + 48))),
            source_range=otio.opentime.TimeRange(rt(24), rt(frames)))
        dialogue.append(audio)
    music.append(otio.schema.Clip(name="score_cue_4", media_reference=otio.schema.MissingReference(),
                                  source_range=otio.opentime.TimeRange(rt(0), rt(456))))
    timeline.tracks.extend([picture, dialogue, music])
    timeline.tracks.markers.append(otio.schema.Marker(
        name="ADR", marked_range=otio.opentime.TimeRange(rt(24), rt(1)), color=otio.schema.MarkerColor.RED,
        metadata={"note": "Director: new lines for the whole scene"}))
    return timeline


if __name__ == "__main__":
    out = Path(__file__).with_name("demo.otio")
    otio.adapters.write_to_file(build(), str(out))
    print(out)
