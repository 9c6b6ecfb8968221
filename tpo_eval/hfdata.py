"""``--data-root hf:OWNER/NAME``: a benchmark's Hugging Face dataset repo where ``huggingface-cli download``
(or lmms-eval) already left it, found offline in the local cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``,
else ``~/.cache/huggingface/hub``). Nothing is ever downloaded: a missing snapshot is one line saying what to
fetch.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

PREFIX = "hf:"


class SnapshotMissingError(FileNotFoundError):
    """No local snapshot of the dataset repo (the message gives the download command)."""


def hub_cache() -> Path:
    """Read at call time (not at import, as huggingface_hub.constants does): this run's environment counts."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    xdg = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    home = os.environ.get("HF_HOME") or xdg / "huggingface"
    return Path(home) / "hub"


def resolve_data_root(value: str | Path) -> Path:
    """A plain path is returned as is; ``hf:OWNER/NAME[@REVISION]`` → the local snapshot directory."""
    text = str(value)
    if not text.startswith(PREFIX):
        return Path(text)
    repo, _, revision = text[len(PREFIX):].partition("@")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise ValueError(f"--data-root {text!r}: expected hf:OWNER/NAME (a dataset repo id), "
                         "e.g. hf:OpenGVLab/MVBench")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    cache = hub_cache()
    try:
        return Path(snapshot_download(repo_id=repo, repo_type="dataset", revision=revision or None,
                                      cache_dir=cache, local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError):
        raise SnapshotMissingError(
            f"no local snapshot of dataset {repo}{'@' + revision if revision else ''} under {cache} (nothing "
            f"is downloaded at run time); fetch it first: huggingface-cli download {repo} --repo-type dataset"
            + (f" --revision {revision}" if revision else "")) from None


def zipped_media_hint(root: Path) -> str:
    """MVBench's repo ships its videos as zips: say so when media are missing and zips sit under the root."""
    zips = sorted(root.rglob("*.zip"))[:3]
    if not zips:
        return ""
    names = ", ".join(z.name for z in zips)
    return f" The snapshot at {root} holds zipped media ({names}, …): unzip each in its folder first."
