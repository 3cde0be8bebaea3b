"""revoice.engine.text.directions: stage directions out, punctuation pauses in."""

from __future__ import annotations

from revoice.engine.text.directions import (
    Silence,
    Speech,
    pause_seconds,
    punctuation_pauses,
    sentences,
    split_directions,
)


def test_pause_directions_become_silences() -> None:
    pieces, directions = split_directions("（沉默片刻）我知道了。[pause] 你走吧！")
    assert pieces == [Silence(1.5, "（沉默片刻）"), Speech("我知道了。"), Silence(0.7, "[pause]"), Speech("你走吧！")]
    assert [(d.kind, d.seconds) for d in directions] == [("pause", 1.5), ("pause", 0.7)]
    assert split_directions("好吧（停顿2秒）再见")[0][1] == Silence(2.0, "（停顿2秒）")
    assert split_directions("[long pause] Fine.")[0][0] == Silence(1.5, "[long pause]")


def test_actions_are_reported_not_spoken() -> None:
    pieces, directions = split_directions("(laughs) You got me. 【笑】")
    assert pieces == [Speech("You got me.")]
    assert [(d.text, d.kind, d.start, d.end) for d in directions] == [
        ("(laughs)", "action", 0, 8), ("【笑】", "action", 21, 24)]


def test_punctuation_pauses() -> None:
    assert pause_seconds("，") == 0.25 and pause_seconds("。") == 0.5 and pause_seconds("……") == 0.6
    assert pause_seconds("、") < pause_seconds("，") < pause_seconds("；") < pause_seconds("。")
    assert pause_seconds("？！") == 0.5 and pause_seconds("x") == 0.0
    marks = [(p.mark, p.seconds) for p in punctuation_pauses("我……我不知道，真的。Pi is 3.14.")]
    assert marks == [("……", 0.6), ("，", 0.25), ("。", 0.5), (".", 0.5)]


def test_sentences_split_at_long_pauses_only() -> None:
    assert sentences("你好，我是行长。今天——我们开始！好") == [
        ("你好，我是行长。", 0.5), ("今天——我们开始！", 0.5), ("好", 0.0)]
