"""Training data: typed examples, readers per annotation layout, templates, mixtures and feature loading.

``load_sources(cfg.data)`` reads a stage's sources (bad records counted and reported with file and line);
``make_plan(...)`` turns them into seeded global batches; ``templates`` renders each example as an instruction
and a task-assignment target (seed Tables 8–11).
"""

from .examples import (
    BadRecord,
    ConversationExample,
    DataError,
    Example,
    MaskExample,
    Origin,
    ReadResult,
    RegionExample,
    TemporalExample,
    Turn,
)

__all__ = [
    "BadRecord",
    "ConversationExample",
    "DataError",
    "Example",
    "MaskExample",
    "Origin",
    "ReadResult",
    "RegionExample",
    "TemporalExample",
    "Turn",
]
