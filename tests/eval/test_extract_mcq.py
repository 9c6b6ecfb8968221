"""MVBench extractors, table-driven. ``text`` is what the model wrote after the forced prefix ``Best option:(``.

Columns: output, gold index, official correct?, strict value (None = unparsed). Rows marked ◆ are where the
official notebook's substring rule and the strict extractor disagree.
"""
import pytest

from tpo_eval.extract.mcq import check_ans, mcq_strict, mvbench_official, official_token
from tpo_eval.families.mcq import MCQFamily
from tpo_eval.types import Answer, Media, RawOutput, Sample

CHOICES = ("The man opens the door.", "The dog sits", "It rains", "Nothing happens")

CASES = [
    # text,                         gold, official, strict
    ("A) The man opens the door.",  0, True,  0),
    ("A)",                          0, True,  0),
    ("B) The dog sits",             1, True,  1),
    ("B) The dog sits",             0, False, 1),
    ("C",                           2, True,  2),
    ("D.",                          3, True,  3),
    ("c)",                          2, True,  2),
    ("",                            0, True,  None),   # ◆ empty output: '(' is a substring of '(a)'
    ("   ",                         2, True,  None),   # ◆ whitespace only, same quirk
    (")",                           1, False, None),   # '(' + ')' gives token '()', not '(b)'
    ("A man opens the door",        0, True,  None),   # ◆ 'a' article matches gold '(a)'
    ("a) the man",                  0, True,  0),
    ("The man opens the door.",     0, False, 0),      # ◆ exact option text: strict parses, official misses
    ("the dog sits",                1, False, 1),      # ◆ exact text, case-insensitive
    ("E) something",                0, False, None),   # letter beyond the options
    ("A) It rains",                 0, True,  None),   # ◆ letter and text name different options
    ("B\nA",                        1, True,  1),      # only the first line counts
    ("B)\nA)",                      1, True,  1),
    ("Answer: B",                   1, False, None),   # not at the start
    ("(B) The dog sits",            1, True,  1),      # token '((b)' contains '(b)'
    ("(B) The dog sits",            0, False, 1),
    ("b",                           1, True,  None),   # ◆ bare lower-case letter: official matches, strict refuses
    ("A.",                          0, True,  0),
    ("I think B",                   1, False, None),
    ("B: The dog sits",             1, False, 1),      # ◆ token '(b:' is not '(b)' either way round
]


def _sample(gold: int) -> Sample:
    return Sample(id="t/0", task="t", media=Media(paths=("x.mp4",)), question="q", choices=CHOICES, target=gold)


def _official_correct(text: str, gold: int) -> bool:
    fam = MCQFamily()
    a = mvbench_official(RawOutput("t/0", text=text), _sample(gold))
    return bool(fam.score(Answer("official", a.value, a.parsed), _sample(gold))["acc"])


@pytest.mark.parametrize("text,gold,official,strict", CASES)
def test_extractors_table(text, gold, official, strict):
    s = _sample(gold)
    got_strict = mcq_strict(RawOutput("t/0", text=text), s).value
    got_official = _official_correct(text, gold)
    assert got_official == official
    assert got_strict == strict


def test_official_quirk_lone_paren_is_correct_for_every_gold():
    for gold in range(4):
        assert check_ans(official_token(""), gold)


def test_official_quirk_closing_paren_counts_as_correct():
    # ')' → token '()' : '()' in '(b)'? no; '(b)' in '()'? no → wrong; but ')' alone as a *token* is correct:
    assert official_token(")") == "()"
    assert not check_ans("()", 1)
    assert check_ans(")", 1)  # Ask-Anything #227: a first token of ')' is a substring of every gold option


def test_double_paren_from_model_repeating_the_prefix():
    # The model writes "(B) …" after the forced "(": token "((b)" contains "(b)" → official correct.
    assert official_token("(B) The dog sits") == "((b)"
    assert check_ans("((b)", 1) and not check_ans("((b)", 0)


def test_at_least_twenty_cases_and_disagreements_exist():
    assert len(CASES) >= 20
    disagree = [c for c in CASES if c[2] != (c[3] == c[1])]
    assert len(disagree) >= 8


def test_strict_unparsed_scores_zero_and_counts():
    fam = MCQFamily()
    s = _sample(0)
    a = mcq_strict(RawOutput("t/0", text="I am not sure"), s)
    sc = fam.score_sample("strict", Answer("strict", a.value, a.parsed), s, failed=False)
    assert sc.values["acc"] == 0.0 and not sc.parsed
