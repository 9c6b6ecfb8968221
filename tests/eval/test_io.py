"""The shared readers and digests (tpo_eval.io): errors name the file and line, digests are the ones the
run records and checkpoints have always carried."""

import hashlib
import json

import pytest

from tpo_eval.io import (
    ConfigError,
    JSONLError,
    iter_jsonl,
    load_yaml,
    read_jsonl,
    sha256_bytes,
    sha256_file,
    sha256_int,
    sha256_json,
    sha256_tree,
    yaml_value,
)


def test_load_yaml_names_file_line_and_column(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\ntasks:\n  - a\n b: c\n")
    with pytest.raises(ConfigError) as e:
        load_yaml(p)
    assert e.value.path == str(p) and len(e.value.errors) == 1
    assert e.value.errors[0].startswith("invalid YAML at line 4, column 2: ")
    assert str(e.value).startswith(f"{p}: 1 problem(s):")
    with pytest.raises(ConfigError, match="file not found"):
        load_yaml(tmp_path / "absent.yaml")
    (tmp_path / "empty.yaml").write_text("")
    assert load_yaml(tmp_path / "empty.yaml") is None
    assert load_yaml("inline", text="a: [1, 2]") == {"a": [1, 2]}


def test_yaml_value_reads_scalars_and_keeps_unreadable_text():
    assert [yaml_value(t) for t in ("32", "0.2", "true", "[1, 2]", "x")] == [32, 0.2, True, [1, 2], "x"]
    assert yaml_value("[1,") == "[1,"


def test_jsonl_errors_name_the_line_and_a_torn_last_line_is_dropped(tmp_path):
    p = tmp_path / "rows.jsonl"
    p.write_text('{"a": 1}\n\n{"a": 2\n{"a": 3}\n')
    with pytest.raises(JSONLError, match=r"rows.jsonl line 3: invalid JSON") as e:
        list(iter_jsonl(p))
    assert (e.value.line, e.value.column) == (3, 8)
    bad = []
    assert list(iter_jsonl(p, on_error=bad.append)) == [(1, {"a": 1}), (4, {"a": 3})]
    assert [b.line for b in bad] == [3]
    with pytest.raises(JSONLError, match="line 3"):
        read_jsonl(p)
    p.write_text('{"a": 1}\n{"a": 2')  # a killed appender
    assert read_jsonl(p) == [{"a": 1}] and p.read_text().endswith('{"a": 2')
    assert read_jsonl(p, repair=True) == [{"a": 1}] and p.read_text() == '{"a": 1}\n'
    assert read_jsonl(tmp_path / "absent.jsonl") == []


def test_digests_match_plain_hashlib(tmp_path):
    (tmp_path / "d").mkdir()
    a, b = tmp_path / "d" / "a.bin", tmp_path / "d" / "b.json"
    a.write_bytes(bytes(range(256)) * 5000)  # more than one 1 MiB chunk
    b.write_text("{}")
    assert sha256_file(a) == hashlib.sha256(a.read_bytes()).hexdigest()
    assert sha256_bytes("é") == hashlib.sha256("é".encode()).hexdigest() == sha256_bytes("é".encode())
    h = hashlib.sha256()
    for f in (a, b):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    assert sha256_tree(tmp_path / "d", [a, b]) == h.hexdigest() != sha256_tree(tmp_path / "d", [b, a])
    doc = {"b": 1, "a": [1.5, None]}
    assert sha256_json(doc) == hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    assert sha256_int("x", 4) == int.from_bytes(hashlib.sha256(b"x").digest()[:4], "little")
