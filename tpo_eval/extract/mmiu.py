"""MMIU answer extraction as the official ``evaluate.py`` does it, without its GPT step unless a judge is set.

Official steps: strip; error placeholders (``""``, ``"image none"``, ``"model error"``, …) become ``Z``
(wrong);
drop non-breaking spaces; strip leading/trailing ``.,()``; a single letter a–n (either case) is the choice as
written. Anything else went to GPT-4o-mini; here it is unparsed (wrong, still counted) unless the benchmark
configures a judge (``options.judge``, see :mod:`tpo_eval.families.mmiu`), whose reply then is the choice.

Scoring (``evaluate_correct.py``): correct when ``choice.strip().lower() in gold.strip().lower()``, a
substring
test (for single letters, equality). Rows the judge failed on ("GPT error") are skipped from the denominator.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Optional

from ..types import Answer, RawOutput, Sample

# Outputs the official script maps straight to 'Z' (its model runners write these on failure).
ERROR_OUTPUTS = frozenset({"", "image none", "model error or image error", "image error", "model error"})
OFFICIAL_LETTERS = "abcdefghijklmn"
JUDGE_ERROR = "judge error"  # the official script's "GPT error": excluded from the denominator
_EDGE_PUNCT = re.compile(r"^[.,()]+|[.,()]+$")


def official_choice(text: str) -> Optional[str]:
    """The letter as written (``"b"``, ``"C"``) when the official script keeps the output as is, else None."""
    p = text.strip()
    if p in ERROR_OUTPUTS:
        return None
    p = _EDGE_PUNCT.sub("", p.replace("\u00a0", "").strip()).strip()
    return p if len(p) == 1 and p.lower() in OFFICIAL_LETTERS else None


def official_correct(choice: str, gold_letter: str) -> bool:
    """``evaluate_correct.py``'s substring test, quirks included (an empty judge reply counts as correct)."""
    return choice.strip().lower() in gold_letter.strip().lower()


def mmiu_official(raw: RawOutput, sample: Sample) -> Answer:
    c = official_choice(raw.text)
    return Answer(extractor="mmiu_official", value=c, parsed=c is not None)


def judge_prompt(template: str, question: str, options: Sequence[str], answer: str) -> str:
    """The matching request sent to a configured judge (our wording; the official one asks GPT-4o-mini to map
    a free-form answer to an option letter, or Z when none matches)."""
    from .mcq import LETTERS

    opts = " ".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))
    return template.format(question=question, options=opts, answer=answer)


DEFAULT_JUDGE_TEMPLATE = (
    "Match a model's answer to one option of a single-choice question. Reply with the option's letter only, "
    "or Z when no option means the same as the answer. If the options are numbers and the answer is a number "
    "in "
    "the same format, pick the closest option.\nQuestion: {question}\nOptions: {options}\nAnswer: {answer}\n"
    "Letter:"
)
