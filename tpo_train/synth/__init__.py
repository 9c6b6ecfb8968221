"""A deterministic synthetic video world in which a tiny TPO model can really learn (issue 12).

Coloured shapes over textured backgrounds appear, move, push each other, change colour, hide one another and
leave; the exact ground truth is written in the real formats of the benchmarks (MVBench, Charades-STA,
QVHighlights) and of the training sources (CG-DETR, RefCOCO, MeViS, SA-V, VideoChat2-IT). Pure numpy; PyAV
only through :mod:`tpo_eval.video.decode`.

    from tpo_train.synth import generate_world
    m = generate_world("data/synth", seed=0, preset="demo")     # or: tpo-train synth --out data/synth
    m.baselines["constant_span"]                               # the grounding prior a model must beat
"""

from .generate import PRESETS, TRAINING_SOURCES, WorldError, WorldManifest, WorldSettings, generate_world

__all__ = ["generate_world", "WorldManifest", "WorldSettings", "WorldError", "PRESETS", "TRAINING_SOURCES"]
