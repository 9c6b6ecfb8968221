"""The project's registries: the single import site for every pluggable name.

Entries are lazy ``module:attr`` strings so listing names never imports heavy modules.
Benchmarks are not listed here: they are the YAML files under ``benchmarks/`` (see :mod:`tpo_eval.config`).
"""
from __future__ import annotations

from .registry import Registry

FAMILIES: Registry = Registry("task family")
MODELS: Registry = Registry("model adapter", entry_points="tpo_eval.models")  # tpo_train adds ``tpo``
EXTRACTORS: Registry = Registry("extractor")
METRICS: Registry = Registry("metric")
SAMPLERS: Registry = Registry("frame sampler")
DECODERS: Registry = Registry("video decoder")

# Task families: Python adapters that benchmark YAMLs point to with ``family:``.
FAMILIES.add("mcq", "tpo_eval.families.mcq:MCQFamily", "multiple-choice video QA (MVBench, …)")
FAMILIES.add("temporal_grounding", "tpo_eval.families.temporal_grounding:TemporalGroundingFamily",
             "moment spans in seconds from text or a temporal head (Charades-STA, QVHighlights)")
FAMILIES.add("videomme", "tpo_eval.families.videomme:VideoMMEFamily",
             "Video-MME 4-option video QA by duration, subtitles optional, official answered-only denominator")
FAMILIES.add("perception_test", "tpo_eval.families.perception_test:PerceptionTestFamily",
             "PerceptionTest 3-option video QA (official JSON or lmms-lab parquet), area/reasoning/tag breakdowns")
FAMILIES.add("mmiu", "tpo_eval.families.mmiu:MMIUFamily",
             "MMIU multi-image MCQ, 52 tasks, letters A-N, official mean over tasks + micro")

# Model adapters. ``mock:oracle`` style names pass the part after ':' as the adapter's variant.
MODELS.add("mock", "tpo_eval.models.mock:MockModel", "oracle / seeded random / scripted outputs; no weights")
MODELS.add("hf", "tpo_eval.models.hf:HFVideoModel", "transformers video LLM from a local checkpoint (LLaVA-OneVision, …)")

# Answer extractors (name → callable(raw_text, sample) -> Answer).
EXTRACTORS.add("mvbench_official", "tpo_eval.extract.mcq:mvbench_official",
               "MVBench notebook: '(' + first line, check_ans substring tests (quirks included)")
EXTRACTORS.add("mcq_strict", "tpo_eval.extract.mcq:mcq_strict",
               "only an unambiguous option letter or the exact option text; anything else is unparsed")
EXTRACTORS.add("videomme_official", "tpo_eval.extract.videomme:videomme_official",
               "Video-MME eval_your_results.py: first capital A-D anywhere after its (partly broken) prefix "
               "stripping; empty = unanswered")
EXTRACTORS.add("letter_word", "tpo_eval.extract.videomme:letter_word",
               "first standalone capital A-D (\\b[A-D]\\b), lmms-eval PerceptionTest generation mode")
EXTRACTORS.add("mmiu_official", "tpo_eval.extract.mmiu:mmiu_official",
               "MMIU evaluate.py: a bare letter a-n after stripping .,() passes; else unparsed (or the judge)")
EXTRACTORS.add("tg_timechat", "tpo_eval.tg.extract:span_timechat",
               "temporal head windows when given, else TimeChat's extract_time on the text "
               "(Charades-STA reference)")
EXTRACTORS.add("tg_span", "tpo_eval.tg.extract:span_auto",
               "temporal head windows (+ saliency) when given, else the lenient span parser on the text")
EXTRACTORS.add("tg_text", "tpo_eval.tg.extract:span_text",
               "the lenient span parser on the text only, ignoring head windows")

# Metrics (name → callable over per-sample values).
METRICS.add("accuracy", "tpo_eval.metrics:accuracy", "percent of samples scored 1")

# Frame samplers (pure functions in tpo_eval.video.sampling).
SAMPLERS.add("segment_midpoints", "tpo_eval.video.sampling:segment_midpoints",
             "MVBench official get_index: N segment midpoints inside the bound")
SAMPLERS.add("linspace", "tpo_eval.video.sampling:linspace_indices",
             "np.linspace(first, last, N) rounded: includes both ends (lmms-eval load_video)")

# Video decoder backends (tpo_eval.video; ``auto`` orders them by speed measured on the machine).
DECODERS.add("decord", "tpo_eval.video.decord_reader:DecordReader", "decord (the reference pipelines' one)")
DECODERS.add("pyav", "tpo_eval.video.pyav_reader:PyAVReader", "PyAV (bundled FFmpeg), seeking reader")
DECODERS.add("torchcodec", "tpo_eval.video.torchcodec_reader:TorchCodecReader",
             "torchcodec (PyTorch's decoder; needs the system FFmpeg libraries)")
