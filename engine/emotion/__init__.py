"""Emotion: the actor's performance carried into the new line, or a label / description rendered as prosody.

* :mod:`.labels`: the :class:`~.labels.Emotion` record, the labels and their prosody targets, parsing;
* :mod:`.lexicon`: English and Chinese descriptions mapped to a label and an intensity;
* :mod:`.prosody`: pitch, energy and tilt analysis of a take;
* :mod:`.transfer`: the original take's contour and energy imposed on a fitted line (sample exact);
* :mod:`.styling`: a label's targets applied to a fitted line.

Nothing is imported here: import the module you need.
"""
