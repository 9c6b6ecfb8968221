"""Video-MME's official answer extraction (``extract_characters_regex`` in the benchmark's
``eval_your_results.py``), quirks kept, and the lmms-eval PerceptionTest letter rule.

The official rule, step by step:

1. strip the response, then delete (anywhere, case-sensitive) each entry of its prefix list. Two commas are
   missing in that list, so Python glues ``"The best option is" "The correct option is"`` and
   ``"Best answer:" "Best option:"`` into two long strings that never occur: those four prefixes are **never
   stripped** (``"Best option: C"`` → ``B``, from "Best");
2. more than 10 words and no capital A–D → ``""``;
3. otherwise the first capital A–D **anywhere**, inside words too (``"Based on the video…"`` → ``B``), or
``""``.

``""`` means unanswered: the official scorer leaves such questions out of its denominator (the family marks
them excluded and counts them; the ``strict`` extractor counts everything).
"""

from __future__ import annotations

import re
from typing import Optional

from ..types import Answer, RawOutput, Sample

# The official list as Python evaluates it (implicit concatenation of the two pairs written without a comma).
OFFICIAL_PREFIXES = (
    "The best answer is",
    "The correct answer is",
    "The answer is",
    "The answer",
    "The best option isThe correct option is",
    "Best answer:Best option:",
)
_ABCD = re.compile(r"[ABCD]")


def official_letter(text: str) -> str:
    """The official extraction: a letter A–D, or ``""`` when the scorer would call the question unanswered."""
    s = text.strip()
    for prefix in OFFICIAL_PREFIXES:
        s = s.replace(prefix, "")
    if len(s.split()) > 10 and not _ABCD.search(s):
        return ""
    m = _ABCD.search(s)
    return m.group(0) if m else ""


def videomme_official(raw: RawOutput, sample: Sample) -> Answer:
    letter = official_letter(raw.text)
    return Answer(extractor="videomme_official", value=letter, parsed=letter != "")


_WORD_LETTER = re.compile(r"\b([A-D])\b")


def first_letter_word(text: str) -> Optional[int]:
    """lmms-eval ``perceptiontest_val_mc``: the first standalone capital A–D in the stripped output. A letter
    past the options (D for a 3-option question) is an answer, and a wrong one, as there."""
    m = _WORD_LETTER.search(text.strip())
    return "ABCD".index(m.group(1)) if m else None


def letter_word(raw: RawOutput, sample: Sample) -> Answer:
    idx = first_letter_word(raw.text)
    return Answer(extractor="letter_word", value=idx, parsed=idx is not None)
