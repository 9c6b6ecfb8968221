"""``--device auto --dtype auto``: resolution (GPU present or not, under torchrun), the adapters loading
straight onto the resolved device, and the runtime (device, dtype, GPU name) recorded in a run's provenance.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.helpers.videos import standin_root
from tpo_eval.cli import main
from tpo_eval.models.base import ModelError, VideoModel
from tpo_eval.models.device import resolve_device, resolve_dtype, runtime_info

torch = pytest.importorskip("torch")


@pytest.fixture
def gpu(monkeypatch):
    """Pretend a GPU is present (nothing is placed on it in these tests)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: f"Stand-in GPU {torch.device(d).index}")
    monkeypatch.delenv("LOCAL_RANK", raising=False)


def test_auto_resolves_to_the_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("LOCAL_RANK", "2")
    assert resolve_device("auto") == "cpu" and resolve_dtype("auto", "cpu") == "float32"
    m = VideoModel()  # the adapters' defaults are auto too
    assert (m.device, m.dtype) == ("cpu", "float32")
    assert runtime_info("cpu", "float32") == {"device": "cpu", "dtype": "float32", "gpu": None}


def test_auto_resolves_to_cuda_local_rank_and_bf16_with_a_gpu(gpu, monkeypatch):
    assert resolve_device("auto") == "cuda:0" and resolve_dtype("auto", "cuda:0") == "bfloat16"
    monkeypatch.setenv("LOCAL_RANK", "3")  # torchrun: one GPU per process
    assert resolve_device("auto") == "cuda:3" and resolve_device("cuda") == "cuda:3"
    assert resolve_device("cuda:1") == "cuda:1" and resolve_device("cpu") == "cpu"  # explicit values stay
    assert resolve_device("auto", local_rank=5) == "cuda:5"
    m = VideoModel(device="auto", dtype="auto")
    assert (m.device, m.dtype) == ("cuda:3", "bfloat16")
    assert VideoModel(device="cpu").dtype == "float32"  # auto dtype follows the device, not the GPU
    assert runtime_info("cuda:3", "bfloat16") == {
        "device": "cuda:3",
        "dtype": "bfloat16",
        "gpu": "Stand-in GPU 3",
    }
    with pytest.raises(ModelError, match="dtype 'int8'"):
        VideoModel(dtype="int8")


@pytest.fixture(scope="module")
def mvbench(shared_data, tmp_path_factory):
    ann = shared_data / "mvbench"
    root = standin_root(tmp_path_factory.mktemp("mvb"), "mvbench", ann, limit=1, tasks=["action_sequence"])
    return root, ann


def _run(mvbench, out, *extra):
    root, ann = mvbench
    res = CliRunner().invoke(
        main,
        [
            "run",
            "mvbench",
            "--model",
            "mock:oracle",
            "--data-root",
            str(root),
            "--annotations",
            str(ann),
            "--tasks",
            "action_sequence",
            "--limit",
            "1",
            "--no-progress",
            "--out",
            str(out),
            *extra,
        ],
    )
    assert res.exit_code == 0, res.output
    return json.loads((out / "results.json").read_text())["provenance"]


def test_run_defaults_to_auto_and_records_the_runtime(mvbench, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _run(mvbench, tmp_path / "cpu")["runtime"] == {"device": "cpu", "dtype": "float32", "gpu": None}
    prov = _run(mvbench, tmp_path / "x", "--device", "cpu", "--dtype", "bfloat16")
    assert prov["runtime"]["dtype"] == "bfloat16"


def test_run_on_a_gpu_box_records_cuda_bf16_and_the_gpu_name(mvbench, tmp_path, gpu):
    prov = _run(mvbench, tmp_path / "gpu")  # mock:oracle places nothing; the resolution is what is recorded
    assert prov["runtime"] == {"device": "cuda:0", "dtype": "bfloat16", "gpu": "Stand-in GPU 0"}


def test_hf_and_tpo_adapters_load_straight_onto_the_resolved_device(tmp_path, monkeypatch):
    """Both adapters hand the resolved device to ``from_pretrained`` as ``device_map`` (weights load onto it
    shard by shard) and end up there, in the resolved dtype."""
    from transformers import LlavaOnevisionForConditionalGeneration

    from tpo_eval.models.hf import HFVideoModel
    from tpo_train.eval_adapter import TPOModelAdapter
    from tpo_train.model import RegionHeadSpec, TPOModel, TPOModelSpec, save_tpo_model
    from tpo_train.tiny import build_tiny_llava_ov

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    base = build_tiny_llava_ov(tmp_path / "base")
    tpo = save_tpo_model(
        TPOModel.build(TPOModelSpec(base=str(base), heads={"region": RegionHeadSpec()})), tmp_path / "tpo"
    )
    calls, cls = [], LlavaOnevisionForConditionalGeneration  # what hf's Auto class resolves the tiny base to
    real = cls.from_pretrained.__func__

    def spy(klass, *a, **kw):
        calls.append({k: kw.get(k) for k in ("device_map", "low_cpu_mem_usage", "dtype")})
        return real(klass, *a, **kw)

    monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))
    hf = HFVideoModel(ckpt=str(base))
    adapter = TPOModelAdapter(ckpt=str(tpo), device="auto", dtype="bfloat16")
    assert calls == [
        {"device_map": "cpu", "low_cpu_mem_usage": True, "dtype": torch.float32},
        {"device_map": "cpu", "low_cpu_mem_usage": True, "dtype": torch.bfloat16},
    ]
    assert {p.device.type for p in hf.model.parameters()} == {"cpu"}
    assert {p.dtype for p in adapter.model.adapter.model.parameters()} == {torch.bfloat16}
    assert {p.device.type for p in adapter.model.parameters()} == {"cpu"}
