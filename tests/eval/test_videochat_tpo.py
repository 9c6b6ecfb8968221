"""The ``videochat_tpo`` adapter on a tiny stand-in of the released VideoChat-TPO checkpoint (same config
shape, ``auto_map`` and method signatures, our own remote code, random weights): MVBench MCQ and Charades-STA
grounding end to end through ``tpo-eval run``, and the refusal without ``--trust-remote-code``."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers.videochat_tpo_standin import build_videochat_tpo_standin
from tests.helpers.videos import standin_root
from tpo_eval.cli import main

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    return build_videochat_tpo_standin(tmp_path_factory.mktemp("vctpo"), seed=0)


@pytest.fixture(scope="module")
def adapter(standin):
    from tpo_eval.models.videochat_tpo import VideoChatTPOModel

    ckpt, tcfg = standin
    return VideoChatTPOModel(
        ckpt=str(ckpt), trust_remote_code="true", temporal_config=str(tcfg), max_new_tokens=6
    )


def _run(args):
    return CliRunner().invoke(main, ["run", *args, "--no-progress"])


def test_refused_without_trust_remote_code_and_its_code_never_runs(standin, tmp_path, shared_data):
    ckpt, _ = standin
    copy = tmp_path / "Other-TPO"
    shutil.copytree(ckpt, copy)
    sentinel = tmp_path / "remote_code_ran"
    mod = copy / "modeling_videochate.py"
    mod.write_text(mod.read_text() + f"\nopen({str(sentinel)!r}, 'w').close()\n")
    ann = shared_data / "mvbench"
    root = standin_root(tmp_path / "data", "mvbench", ann, limit=1, tasks=["action_antonym"])
    res = _run(
        [
            "mvbench",
            "--ckpt",
            str(copy),
            "--data-root",
            str(root),
            "--annotations",
            str(ann),
            "--tasks",
            "action_antonym",
            "--limit",
            "1",
        ]
    )  # no --model: auto picks videochat_tpo, which refuses
    assert res.exit_code == 2
    err = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert (
        len(err) == 1 and "modeling_videochate.MultiModalLLM_PT" in err[0] and "--trust-remote-code" in err[0]
    )
    assert not sentinel.exists()


def test_mvbench_mcq_end_to_end(standin, tmp_path, shared_data):
    ckpt, _ = standin
    ann = shared_data / "mvbench"
    tasks = "action_sequence,episodic_reasoning"  # a bound video task and a frame-folder task
    root = standin_root(tmp_path / "data", "mvbench", ann, limit=2, tasks=tasks.split(","))
    out = tmp_path / "run"
    res = _run(
        [
            "mvbench",
            "--ckpt",
            str(ckpt),
            "--trust-remote-code",
            "--data-root",
            str(root),
            "--annotations",
            str(ann),
            "--tasks",
            tasks,
            "--limit",
            "2",
            "--out",
            str(out),
            "--model-arg",
            "max_new_tokens=6",
        ]
    )
    assert res.exit_code == 0, res.output
    assert "using the 'videochat_tpo' adapter" in res.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["overall"]["n_total"] == 4 and doc["overall"]["n_failed"] == 0
    prov = doc["provenance"]["model"]
    assert prov["model"] == "videochat_tpo" and prov["trust_remote_code"] is True
    assert prov["remote_code"]["AutoModel"] == "modeling_videochate.MultiModalLLM_PT"
    assert prov["dtype"] == "bfloat16" and prov["answer_prefix"] == "Best Option: ("
    assert len(prov["checkpoint_sha256"]) == 64
    rows = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [
        "action_sequence/0",
        "action_sequence/1",
        "episodic_reasoning/0",
        "episodic_reasoning/1",
    ]
    assert all(r["error"] is None and r["output"] for r in rows)
    # The stand-in folder is named like the release, so the run is a reproduction of the published row.
    res = CliRunner().invoke(main, ["table", "mvbench", "--run", f"stand-in={out}", "--format", "markdown"])
    assert res.exit_code == 0 and "row 'stand-in' reproduces 'VideoChat-TPO'" in res.stderr
    names = [x.split("|")[1].strip().rstrip("†") for x in res.stdout.splitlines() if x.startswith("| ")]
    assert names.index("stand-in") == names.index("VideoChat-TPO") + 1


def test_mcq_request_is_the_checkpoints_generate_answer(adapter):
    """The adapter's answer is the checkpoint's own generate_answer on the 16→4 resampled, normalised
    frames."""
    import torch

    from tpo_eval.models.videochat_tpo_io import frames_tensor
    from tpo_eval.types import Prompt, Request

    frames = np.random.RandomState(1).randint(0, 255, (16, 24, 32, 3)).astype(np.uint8)
    r = Request(
        "x",
        "mcq",
        Prompt("Watch.\n", "Question: what?\nOptions:\n(A) a\n(B) b", "Best option:("),
        frames=frames,
    )
    got = adapter.predict([r])[0]
    video = frames_tensor(frames[[2, 6, 10, 14]], 16)
    with torch.no_grad():
        want, _ = adapter.model.generate_answer(
            adapter.tokenizer,
            "Watch.\n",
            "",
            "Question: what?\nOptions:\n(A) a\n(B) b",
            video_tensor=video,
            answer_prompt=True,
            generation_config={"max_new_tokens": 6},
        )
    assert got.error is None and got.text == want
    multi = adapter.predict([Request("m", "multi_image", r.prompt, frames=[frames[0], frames[5][:20]])])[0]
    assert multi.error is None and isinstance(multi.text, str)
    empty = adapter.predict([Request("e", "mcq", r.prompt, frames=None)])[0]
    assert empty.error is not None  # a recorded failure, not a crash


def test_prompt_ids_keep_the_release_segment_quirk(adapter):
    tok = adapter.tokenizer
    enc = tok.build_input_ids(["[INST] <Video>[<VID_PLH>]</Video>[/INST]"], require_video=True)
    ids, idx = enc["input_ids"].tolist(), enc["video_index"].tolist()
    head = tok("[INST] <Video>", add_special_tokens=True)["input_ids"]
    tail = tok("</Video>[/INST]", add_special_tokens=True)["input_ids"]
    assert ids == head + [0] * 8 + tail  # every piece starts with its own BOS, as the release tokenizes
    assert head[0] == tail[0] == tok.bos_token_id and sum(idx) == 8 and idx[len(head)] is True
    assert enc["image_index"] is None
    assert tok.temp_token == tok.convert_tokens_to_ids("<temp>") and len(tok) == len(tok._tok)


def test_released_generate_temporal_is_broken_so_the_adapter_avoids_it(adapter):
    import torch

    ids = torch.tensor([[1, 5, 6]])
    with pytest.raises(AttributeError, match="temp_place_ids"):
        adapter.model.generate_temporal(input_ids=ids, attention_mask=torch.ones_like(ids))


def test_charades_grounding_end_to_end_through_the_temporal_head(standin, tmp_path, shared_data):
    ckpt, tcfg = standin
    ann = shared_data / "charades_sta"
    root = standin_root(tmp_path / "media", "charades_sta", ann, limit=2)
    base = [
        "charades_sta",
        "--model",
        "videochat_tpo",
        "--ckpt",
        str(ckpt),
        "--trust-remote-code",
        "--data-root",
        str(root),
        "--annotations",
        str(ann),
        "--limit",
        "2",
    ]
    res = _run(base + ["--out", str(tmp_path / "none")])
    assert res.exit_code == 2 and "temporal_config=FILE.json" in res.stderr
    out = tmp_path / "run"
    res = _run(
        base + ["--num-frames", "32", "--model-arg", f"temporal_config={tcfg}", "--out", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["overall"]["n_total"] == 2 and doc["overall"]["n_failed"] == 0
    assert doc["provenance"]["model"]["span_mode"] == "force"
    from tpo_eval.api import load_samples
    from tpo_eval.config import DataPaths, load_benchmark

    _, samples = load_samples(load_benchmark("charades_sta"), DataPaths(root, ann), None, 2)
    rows = {r["id"]: r for r in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())}
    for s in samples:
        row, clip = rows[s.id], s.duration / 4  # 32 frames in clips of 8: a 4-clip grid over the video
        w = row["windows"]
        assert row["error"] is None and len(w) == 4 and len(row["saliency"]) == 4  # 4 queries, 4 clips
        assert [x[2] for x in w] == sorted((x[2] for x in w), reverse=True)
        for start, end, _ in w:  # rounded to whole clips, inside the video
            assert 0.0 <= start <= end <= s.duration + 1e-3
            assert (
                abs(start / clip - round(start / clip)) < 1e-3 and abs(end / clip - round(end / clip)) < 1e-3
            )
    assert "official/R1@0.5" in doc["overall"]["micro"]


def test_table_puts_a_reproduction_below_the_published_row(tmp_path):
    """A run of the released checkpoint (adapter videochat_tpo, folder named after the repo) is printed right
    under the published VideoChat-TPO row, each cell with its difference to the published number."""
    from tests.eval._synthetic_runs import write_run
    from tpo_eval.tables import load_table

    table = load_table("mvbench")
    published = table.row("videochat_tpo")
    assert published.checkpoint["repo"] == "OpenGVLab/VideoChat-TPO"
    tasks = [c.id for c in table.score_columns if c.aggregate is None]
    # 200 questions per task; the run gets one more right than the paper on every task (0.5 points).
    outcomes = {
        t: [1.0] * (int(published.value(t) * 2) + 1) + [0.0] * (199 - int(published.value(t) * 2))
        for t in tasks
    }
    runs = {}
    for name, ckpt in (("repro", "/models/VideoChat-TPO"), ("other", "/models/my-finetune")):
        run = write_run(tmp_path / name, {"official/acc": outcomes}, predictions=False)
        doc = json.loads((run / "results.json").read_text())
        doc["provenance"] = {"model": {"model": "videochat_tpo", "checkpoint": ckpt}}
        (run / "results.json").write_text(json.dumps(doc))
        runs[name] = run
    res = CliRunner().invoke(
        main,
        [
            "table",
            "mvbench",
            "--run",
            f"repro={runs['repro']}",
            "--run",
            f"other={runs['other']}",
            "--format",
            "markdown",
        ],
    )
    assert res.exit_code == 0, res.output
    plain = res.stdout.replace("**", "").replace("<ins>", "").replace("</ins>", "")  # best / second marks
    lines = [x for x in plain.splitlines() if x.startswith("| ")]
    names = [x.split("|")[1].strip().rstrip("†") for x in lines]
    assert names.index("repro") == names.index("VideoChat-TPO") + 1 and names[-1] == "other"
    repro = [c.strip() for c in lines[names.index("repro")].split("|")[2:-1]]
    assert repro[0] == "67.3 (+0.5)"  # Avg: 66.8 published
    assert repro[1].endswith("84.5 (+0.5)") and repro[10].endswith("55.5 (+0.5)")  # AS 84.0, AL 55.0
    other = [c.strip() for c in lines[-1].split("|")[2:-1]]
    assert "(" not in other[1]  # not a reproduction: no per-column difference
    assert "row 'repro' reproduces 'VideoChat-TPO' (OpenGVLab/VideoChat-TPO)" in res.stderr


def test_mmiu_multi_image_end_to_end(standin, tmp_path):
    """Multi-image MCQ (MMIU format, generated images): the images go through generate_answer as the
    frames."""
    from tests.helpers.mcq_fixtures import mmiu_rows, write_mmiu

    ckpt, _ = standin
    write_mmiu(tmp_path / "mmiu", mmiu_rows({"spot_the_diff": 2}, 4))
    res = _run(
        [
            "mmiu",
            "--ckpt",
            str(ckpt),
            "--trust-remote-code",
            "--data-root",
            str(tmp_path / "mmiu"),
            "--model-arg",
            "max_new_tokens=4",
            "--out",
            str(tmp_path / "run"),  # not ./runs/… in the working directory
            "--json",
        ]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["overall"]["n_total"] == 2 and doc["overall"]["n_failed"] == 0
    assert doc["provenance"]["model"]["model"] == "videochat_tpo"


def test_generate_mode_reads_the_temporal_token_state_like_the_demo(adapter, capsys):
    """span_mode=generate: greedy decoding; on <time_begin> one extra step feeds the temporal token on the
    cache
    (without the trigger, as app.py does) and that state is the head's prompt token. Without a trigger the
    text answer is returned."""
    import torch

    from tpo_eval.types import Prompt, Request

    frames = np.random.RandomState(2).randint(0, 255, (16, 24, 32, 3)).astype(np.uint8)
    r = Request("s", "span", Prompt("", "Find the person opening the door."), frames=frames, duration=12.0)
    token = adapter.model.temporal_token.to(torch.bfloat16).reshape(1, 1, -1)
    with torch.no_grad():
        _, emb = adapter._prompt_embeds(r)
        state, text = adapter._generate_until_trigger(emb, token)
    assert (
        state is None and isinstance(text, str) and "no <time_begin> in 6 tokens" in capsys.readouterr().err
    )
    head = adapter.model.lm.lm_head.weight
    saved = head.detach().clone()
    try:
        with torch.no_grad():  # make <time_begin> the first greedy token for this prompt
            h = adapter._lm(emb).hidden_states[-1][0, -1]
            head.zero_()
            head[adapter.tokenizer.time_start_token] = h / h.norm()
            state, text = adapter._generate_until_trigger(emb, token)
            want = adapter._lm(torch.cat([emb, token], 1)).hidden_states[-1][:, -1:]
        assert text == "<time_begin>" and state.shape == want.shape
        assert torch.allclose(state.float(), want.float(), atol=0.05)
        adapter.span_mode = "generate"
        out = adapter.predict([r])[0]
        assert out.error is None and out.text == "<time_begin>" and len(out.windows) == 4
    finally:
        adapter.span_mode = "force"
        with torch.no_grad():
            head.copy_(saved)


def test_hub_is_off_while_the_checkpoint_code_builds(monkeypatch, tmp_path):
    """A hub name the checkpoint's code asks for (bert-base-uncased, the Mistral config) resolves from the
    local cache or fails at once: no download is attempted."""
    import huggingface_hub.constants as hc
    from transformers import AutoConfig

    from tpo_eval.models.videochat_tpo import hub_offline

    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "hub"))
    before = hc.HF_HUB_OFFLINE
    with hub_offline():
        assert hc.HF_HUB_OFFLINE is True
        with pytest.raises(OSError):
            AutoConfig.from_pretrained("tpo-eval-test/not-a-repo")
    assert before == hc.HF_HUB_OFFLINE  # restored
