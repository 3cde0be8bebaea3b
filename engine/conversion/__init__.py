"""Voice conversion: a fitted line's speech, in the character's reference timbre, same length and onset.

A converter is a plugin (:class:`~revoice.engine.conversion.base.ConverterSpec` in the entry-point group
``revoice.voice_converters``); :func:`~revoice.engine.conversion.stage.convert_speech` runs one over a
line's speech and keeps its length to the sample and its onset; a
:class:`~revoice.engine.conversion.plan.ConversionPlan` tells :class:`revoice.engine.render.Revoicer`
which voices to convert and to whom.
"""
