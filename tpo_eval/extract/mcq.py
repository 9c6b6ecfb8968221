"""Extractors for multiple-choice answers.

``mvbench_official`` reproduces the MVBench reference notebook: ``'(' + first line of the stripped output``,
then the first space-separated token. Its value is that token (e.g. ``"(b)"``); the family scores it with the
notebook's
``check_ans`` substring tests, quirks included. ``mcq_strict`` returns an option index only when the output is
an
unambiguous option letter at the start (``A``, ``A)``, ``(A)``, ``A.``, ``A:``, ``A -``, or a capital letter
and a space: ``C boiling``), optionally followed by text that does not name a different option, or exactly one
option's text, on the first line; everything else is unparsed. Two guards: a capital ``A`` or ``I`` followed
by a space is an English word ("A man opens …", "I think …"), accepted only when the text after it is that
option's own text; on a single-candidate item the letter is always "valid", so text after it must be the
option's text ("(A) something else" is unparsed).
"""

from __future__ import annotations

import re
from typing import Optional

from ..types import Answer, RawOutput, Sample

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def official_token(text: str) -> str:
    """The notebook's prediction token: ``('(' + text.strip().split('\\n')[0]).lower().split(' ')[0]``."""
    first_line = text.strip().split("\n")[0]
    return ("(" + first_line).lower().split(" ")[0]


def check_ans(token: str, gold_index: int) -> bool:
    """The notebook's ``check_ans`` on a token from :func:`official_token`: substring tests either way against
    the gold option token ``'(x)'``. Quirks kept: ``'('`` (empty output) and ``')'`` count as correct."""
    gt_option = f"({LETTERS[gold_index].lower()})"
    return token.replace(".", "") in gt_option or gt_option in token


def mvbench_official(raw: RawOutput, sample: Sample) -> Answer:
    tok = official_token(raw.text)
    # "Parsed" for the official extractor means the token names a real option; scoring still follows
    # check_ans.
    m = re.fullmatch(r"\(([a-z])\)?[.,:;]?", tok)
    parsed = bool(m) and LETTERS.lower().index(m.group(1)) < len(sample.choices)
    return Answer(extractor="mvbench_official", value=tok, parsed=parsed)


_LEAD = re.compile(r"^\(?\s*([A-Za-z])\s*(\)|\.|:|-|–|$|\s)")
_WORD_LETTERS = "AI"  # capital letters that are also English words


def strict_index(text: str, choices: tuple[str, ...]) -> Optional[int]:
    """Option index when the first line of ``text`` unambiguously names one option, else None.

    Only the first line is read (as the reference does): models often ramble on after the answer."""
    t = text.strip().split("\n")[0].strip()
    if not t:
        return None
    norm = [_norm(c) for c in choices]
    m = _LEAD.match(t)
    if m:
        letter, closer = m.group(1), m.group(2)
        bracketed = t.startswith("(") or closer == ")"
        # A lower-case letter then a space ("a dog …") is a word, not an answer; a bare lower-case letter
        # counts only when bracketed. "C boiling" (capital, space, text) is an answer.
        spaced = closer.isspace() and not t.startswith("(")
        if letter.isupper() or (bracketed and not spaced):
            idx = LETTERS.index(letter.upper())
            if idx >= len(choices):
                return None
            rest = _norm(t[m.end() :])
            own = rest == norm[idx]
            # "A) <text of option C>" contradicts itself: unparsed.
            if rest and rest in norm and not own and norm.count(rest) == 1:
                return None
            if rest and not own and ((spaced and letter in _WORD_LETTERS) or len(choices) == 1):
                return None  # "A man …" is an article; "(A) something else" on a one-option item: no option
            return idx
    hits = [i for i, c in enumerate(norm) if c == _norm(t)]
    return hits[0] if len(hits) == 1 else None


def mcq_strict(raw: RawOutput, sample: Sample) -> Answer:
    idx = strict_index(raw.text, sample.choices)
    return Answer(extractor="mcq_strict", value=idx, parsed=idx is not None)


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.strip().rstrip(".").strip()).lower()
