"""Arrow-cached sources: the cached examples equal the reader's list in every layout, a second load reads the
cache without running the reader, an edited file or reader is re-read, bad records keep ``file:line``, and a
training run on the cache logs the losses of a run on the reader's lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tpo_train.data import sources
from tpo_train.data.examples import BadRecord, Origin
from tpo_train.data.readers import read_source
from tpo_train.data.sources import read_cached

from ._recipe_helpers import TINY, load, run_stage, tiny_cache, write  # noqa: F401


@pytest.fixture
def reads(monkeypatch, tmp_path):
    """Counts the reader runs (``iter_source`` calls) made by ``read_cached``, into an empty cache of its own
    (the session's cache already holds what earlier tests read)."""
    monkeypatch.setattr(sources, "arrow_cache", lambda: tmp_path / "arrow")
    calls: list[str] = []
    real = sources.iter_source

    def counting(fmt, path, name, media=""):
        calls.append(name)
        return real(fmt, path, name, media)

    monkeypatch.setattr(sources, "iter_source", counting)
    return calls


def test_every_layout_reads_back_equal_to_the_reader_list(reads):
    from tpo_train.tiny_data import _sources, tiny_data_root

    root = tiny_data_root()
    for rel, s in _sources().items():
        media = str(root / s["media"]) if s.get("media") else ""
        want = read_source(s["format"], root / rel, s["name"], media)
        got = read_cached(s["format"], root / rel, s["name"], media)
        assert (list(got.examples), got.bad, got.notes) == (list(want.examples), want.bad, want.notes), rel
        assert len(got.examples) == len(want.examples) > 0
        assert got.examples[-1] == want.examples[-1] and got.examples[1] == want.examples[1]
    formats = {s["format"] for s in _sources().values()}
    assert formats == {"cgdetr_jsonl", "refcoco_jsonl", "mevis", "sav", "videochat2_it"}
    assert len(reads) == len(_sources())  # one build each


def _qvh_like(path: Path, n: int) -> Path:
    rows = [
        {
            "qid": i,
            "query": f"query {i}",
            "duration": 10,
            "vid": f"v{i % 3}",
            "relevant_windows": [[1, 4], [6, 12]],  # the second end is clipped to 10 (a note)
            "relevant_clip_ids": [0, 1],
            "saliency_scores": [[1, 2, 0], [4, 4, 4]],
        }
        for i in range(n)
    ]
    lines = [json.dumps(r) for r in rows]
    lines.insert(1, '{"qid": 99, "query": "no windows", "duration": 5, "vid": "x"}')
    lines.insert(3, "not json")
    return write(path, "\n".join(lines) + "\n")


def test_second_load_is_a_cache_hit_and_an_edit_is_read_again(tmp_path, reads):
    p = _qvh_like(tmp_path / "q.jsonl", 5)
    first = read_cached("cgdetr_jsonl", p, "q")
    again = read_cached("cgdetr_jsonl", p, "q")
    ex0 = first.examples[0]
    assert reads == ["q"]  # the second load opened the cache: no reader run
    assert list(again.examples) == list(first.examples) == list(read_source("cgdetr_jsonl", p, "q").examples)
    assert [e.qid for e in again.examples] == ["0", "1", "2", "3", "4"]
    assert again.examples[1:4:2] == [first.examples[1], first.examples[3]] and again.examples[-5] == ex0
    ex = again.examples[2]
    assert ex.windows == ((1.0, 4.0), (6.0, 10.0)) and ex.saliency == {0: 3.0, 1: 12.0}
    assert ex.origin == Origin(str(p), 5)  # lines 2 and 4 are bad
    # bad records survive the cache with their file:line and reason
    assert [str(b) for b in again.bad] == [
        f"{p}:2: 'relevant_windows' must be a non-empty list of [start, end], got None",
        f"{p}:4: invalid JSON: Expecting value at column 1",
    ]
    assert again.bad == first.bad and again.notes == (
        "5 window end(s) past the video duration clipped to it",
    )
    import pickle

    assert list(pickle.loads(pickle.dumps(again.examples))) == list(first.examples)  # e.g. to a worker
    entries = sorted(sources.arrow_cache().glob("q-*"))
    assert len(entries) == 1
    # an edit (one more record) is read again, and the stale entry goes
    _qvh_like(p, 6)
    edited = read_cached("cgdetr_jsonl", p, "q")
    assert reads == ["q", "q"] and len(edited.examples) == 6
    assert (
        sorted(sources.arrow_cache().glob("q-*")) != entries
        and len(list(sources.arrow_cache().glob("q-*"))) == 1
    )
    # so is a changed reader (its code is part of the key)
    import tpo_train.data.sources as mod

    real = mod.code_version
    mod.code_version = lambda reader: "other " + real(reader)
    try:
        read_cached("cgdetr_jsonl", p, "q")
    finally:
        mod.code_version = real
    assert reads == ["q", "q", "q"]


def test_missing_file_is_one_bad_record_and_not_cached(tmp_path, reads):
    r = read_cached("cgdetr_jsonl", tmp_path / "absent.jsonl", "a")
    assert r.examples == () and r.bad == (
        BadRecord(Origin(str(tmp_path / "absent.jsonl"), 0), "file or folder not found"),
    )
    assert reads == [] and not list(sources.arrow_cache().glob("a-*"))


def test_feature_check_drops_rows_by_index(tmp_path):
    """Examples without their feature file become bad records; the rest keep their order and content."""
    import torch

    p = _qvh_like(tmp_path / "f.jsonl", 6)
    (tmp_path / "fv").mkdir()
    for vid in ("v0", "v2"):
        torch.save(torch.ones(5, 3), tmp_path / "fv" / f"{vid}.pt")
    src = "data.sources={f: {format: cgdetr_jsonl, path: f.jsonl, features: {video: fv, clip_len: 2}}}"
    cfg = load("stage1", src, f"data.root={tmp_path}", "data.max_bad_fraction=0.9", check_paths=False)
    d = sources.load_sources(cfg.data)
    everything = read_source("cgdetr_jsonl", p, "f").examples
    assert list(d.examples["f"]) == [e for e in everything if e.vid != "v1"]
    assert [e.qid for e in d.examples["f"]] == ["0", "2", "3", "5"] and d.examples["f"][-1].qid == "5"
    assert [str(b) for b in d.reports["f"].bad[2:]] == [
        f"{p}:3: missing feature file(s): {tmp_path}/fv/v1.*",
        f"{p}:7: missing feature file(s): {tmp_path}/fv/v1.*",
    ]
    assert d.manifest()["f"]["n_examples"] == 4 and d.manifest()["f"]["n_bad"] == 4


def test_training_on_the_cache_logs_the_losses_of_training_on_lists(tmp_path, monkeypatch):
    """Two steps of a tiny stage read from the Arrow cache, then again from the reader's in-memory lists:
    the same examples in the same order, so the same losses."""
    over = (*TINY, "train.max_steps=2")
    arrow, _ = run_stage("stage1_tiny", tmp_path / "arrow", *over)
    monkeypatch.setattr(
        sources,
        "read_cached",
        lambda fmt, path, name, media="", sha256="": read_source(fmt, path, name, media),
    )
    lists, _ = run_stage("stage1_tiny", tmp_path / "lists", *over)
    assert all(isinstance(ex, tuple) for ex in lists.data.examples.values())
    assert [r["loss"] for r in arrow.history] == [r["loss"] for r in lists.history]
    assert len(arrow.history) == 2


def _list_mixture(shares, seed, epoch):
    """The former list-of-tuples mixture, as the reference order."""
    from tpo_train.data.mixture import _rng

    refs = []
    for s in shares:
        out, rep = [], 0
        while len(out) < s.count:
            perm = list(range(s.size))
            _rng(seed, epoch, s.name, rep).shuffle(perm)
            out.extend(perm[: s.count - len(out)])
            rep += 1
        refs += [(s.name, i) for i in out]
    _rng(seed, epoch, "mix").shuffle(refs)
    return refs


def test_compact_mixture_orders_refs_as_the_list_did():
    """Arrays of positions are shuffled with the swaps a list of refs got: every batch keeps its examples."""
    from tpo_train.data.mixture import SourceShare, epoch_mixture, make_plan

    shares = (
        SourceShare("a", 7, weight=2.5),
        SourceShare("b", 0),
        SourceShare("c", 1000, weight=0.3),
        SourceShare("d", 5, samples=12),
    )
    for epoch in (0, 3):
        assert epoch_mixture(shares, 11, epoch) == _list_mixture(shares, 11, epoch)
    plan = make_plan(
        {"a": 7, "b": 0, "c": 1000, "d": 5},
        {"a": 2.5, "c": 0.3},
        {"d": 12},
        seed=11,
        batch_size=16,
        micro_batch_size=4,
        epochs=2,
    )
    ref = _list_mixture(plan.shares, 11, 1)
    k = plan.steps_per_epoch + 3  # epoch 1, batch 3
    assert plan.batch(k) == ref[3 * 16 : 4 * 16] and len(ref) == 18 + 300 + 12
