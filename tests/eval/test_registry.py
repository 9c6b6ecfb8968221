import pytest

from tpo_eval.registries import EXTRACTORS, FAMILIES, MODELS, SAMPLERS
from tpo_eval.registry import Registry, RegistryError


def test_lazy_entry_imported_on_first_get():
    r = Registry("thing")
    r.add("join", "os.path:join")
    assert r._entries["join"] == "os.path:join"  # not imported yet
    import os.path

    assert r.get("join") is os.path.join


def test_duplicate_name_is_an_error():
    r = Registry("thing")
    r.add("a", "os:sep")
    with pytest.raises(RegistryError, match="already registered"):
        r.add("a", "os:sep")


def test_did_you_mean_lists_available():
    r = Registry("model adapter")
    r.add("mock", "os:sep")
    r.add("hf", "os:sep")
    with pytest.raises(RegistryError) as e:
        r.get("mokc")
    assert "Did you mean 'mock'" in str(e.value) and "Available: hf, mock" in str(e.value)


def test_malformed_lazy_entry_rejected():
    with pytest.raises(ValueError, match="module:attr"):
        Registry("x").add("bad", "no_colon_here")


def test_project_registries_resolve():
    for reg in (FAMILIES, MODELS, EXTRACTORS, SAMPLERS):
        for name in reg.names():
            if name in ("hf", "tpo"):  # heavy imports; covered by their own tests
                continue
            assert reg.get(name) is not None, name


def test_unregister_removes_an_entry_and_its_help():
    r = Registry("thing")
    r.add("a", "os:sep", "the separator")
    r.unregister("a")
    assert "a" not in r and r.help("a") == "" and r.names() == []
    r.add("a", "os:sep")  # the name is free again
    with pytest.raises(RegistryError, match="'b' is not registered"):
        r.unregister("b")


def test_added_is_undone_after_the_block_even_on_error():
    r = Registry("thing")
    with pytest.raises(RuntimeError), r.added("a", "os:sep"):
        assert r.get("a") == __import__("os").sep
        raise RuntimeError
    assert "a" not in r
