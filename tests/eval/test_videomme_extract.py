"""Video-MME's official extraction (eval_your_results.py ``extract_characters_regex``), quirks included, and
the lmms-eval PerceptionTest letter rule."""

import pytest

from tpo_eval.extract.videomme import OFFICIAL_PREFIXES, first_letter_word, official_letter, videomme_official
from tpo_eval.types import Media, RawOutput, Sample

OFFICIAL_CASES = [
    # (response, extraction); "" = unanswered (left out of the official denominator)
    ("A", "A"),
    ("B.", "B"),
    ("(C)", "C"),
    ("  \n D \n", "D"),
    ("The best answer is D", "D"),
    ("The correct answer is (B) the red car", "B"),
    ("The answer is C.", "C"),
    ("The answer: A", "A"),  # "The answer" is a prefix of its own
    ("The answer is The answer is B", "B"),  # prefixes are deleted everywhere, not only at the start
    ("The best option isC", "C"),  # never stripped (glued prefix), harmless here
    ("Best option: C", "B"),  # never stripped: the B of "Best" wins
    ("Best answer: (D)", "B"),  # likewise
    ("Based on the video, the answer is C", "B"),  # capitals inside words count ("Based")
    ("According to the video it is D", "A"),  # "According"
    ("Answer: B", "A"),  # "Answer" starts with a capital A
    ("Option C", "C"),
    ("I think it is d", ""),  # lower-case letters never count
    ("(b)", ""),
    ("E", ""),  # only A-D
    ("", ""),
    ("the person in the video walks towards the door slowly and calmly", ""),  # > 10 words, no A-D
    ("the person in the video walks to the door so the option is C", "C"),  # > 10 words, with a letter
]


@pytest.mark.parametrize("response,expected", OFFICIAL_CASES)
def test_official_extraction(response, expected):
    assert official_letter(response) == expected


def test_prefix_list_keeps_the_missing_commas():
    # The official list misses two commas, so Python concatenates two pairs of prefixes.
    assert "The best option isThe correct option is" in OFFICIAL_PREFIXES
    assert "Best answer:Best option:" in OFFICIAL_PREFIXES
    assert "Best option:" not in OFFICIAL_PREFIXES and "The best option is" not in OFFICIAL_PREFIXES


def test_answer_parsed_flag():
    s = Sample(
        id="001-1", task="short", media=Media(paths=()), question="q", choices=("a", "b", "c", "d"), target=1
    )
    assert videomme_official(RawOutput("001-1", text="Best option: C"), s).value == "B"
    a = videomme_official(RawOutput("001-1", text="no idea"), s)
    assert a.value == "" and not a.parsed


@pytest.mark.parametrize(
    "response,expected",
    [
        ("B", 1),
        ("The answer is C.", 2),
        ("(A) dog", 0),
        ("A man walks, so C", 0),  # standalone capitals only
        ("Based on it: B", 1),
        ("D", 3),
        ("answer b", None),
        ("", None),
        ("ABC", None),
    ],
)
def test_perception_letter_word(response, expected):
    assert first_letter_word(response) == expected
