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
    # A capital option letter, then text: the letter answers unless the text names another option.
    ("C rains",                     2, True,  2),
    ("C - It rains",                2, True,  2),
    ("C – rains",                   2, True,  2),      # en dash
    ("B The dog sits",              1, True,  1),
    ("C The dog sits",              2, True,  None),   # ◆ letter C, text of option B
    ("D is my answer",              3, True,  3),
    ("A The man opens the door.",   0, True,  0),      # "A" then option A's own text
    ("A It rains",                  0, True,  None),   # ◆
    ("I think B",                   1, False, None),   # "I" is a word (and no option here)
    ("c rains",                     2, True,  None),   # ◆ lower case then a space: a word
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


@pytest.mark.parametrize("text,expected", [
    ("(A) something else", None),   # the only letter is always "valid": the text must be the option's
    ("A something else", None),
    ("(A)", 0), ("A", 0), ("A.", 0),
    ("(A) Nothing happens", 0),
    ("Nothing happens", 0),
])
def test_strict_on_a_single_candidate_item(text, expected):
    s = Sample(id="t/0", task="t", media=Media(paths=("x.mp4",)), question="q", choices=("Nothing happens",),
               target=0)
    assert mcq_strict(RawOutput("t/0", text=text), s).value == expected


def test_strict_word_letters_need_their_own_text_past_d():
    choices = tuple(f"option {i}" for i in range(10))  # up to J: "I" is a real option letter here
    s = Sample(id="t/0", task="t", media=Media(paths=("x.mp4",)), question="q", choices=choices, target=8)
    assert mcq_strict(RawOutput("t/0", text="I think it is B"), s).value is None
    assert mcq_strict(RawOutput("t/0", text="I option 8"), s).value == 8
    assert mcq_strict(RawOutput("t/0", text="I) whatever"), s).value == 8
    assert mcq_strict(RawOutput("t/0", text="J whatever"), s).value == 9
