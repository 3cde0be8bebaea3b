"""Thin layer over OpenTimelineIO: timelines and subtitles in, revoiced timeline out."""
