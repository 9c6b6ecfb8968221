"""Named answer extractors. Each takes ``(RawOutput, Sample)`` and returns an :class:`~tpo_eval.types.Answer`
whose ``value`` is None when the output could not be parsed. Extraction never scores; families do."""
