"""References to hub models and datasets: local copies, one-line errors offline, pinning revisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtbridge import hub

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_a_path_reference_is_used_as_it_is(tmp_path: Path) -> None:
    assert hub.snapshot({"path": str(tmp_path)}, key="models.x.hub.source") == tmp_path
    with pytest.raises(FileNotFoundError, match=r"config key models.x.hub.source.path: .*/nowhere is not a "
                                                r"directory; expected a local copy of the model"):
        hub.snapshot({"path": str(tmp_path / "nowhere")}, key="models.x.hub.source")


def test_an_uncached_hub_reference_fails_at_once_in_one_line(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))  # read at import, so patch the value
    hub.hub_offline.cache_clear()
    with pytest.raises(hub.HubUnavailable) as error:
        hub.snapshot({"id": "facebook/mbart-large-50", "revision": COMMIT}, key="models.m.hub.source")
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"config key models.m.hub.source: model facebook/mbart-large-50@{COMMIT} "
                              f"is not (completely) in the local Hugging Face cache ({tmp_path})")
    assert "HF_HUB_OFFLINE" in message and "{path: <local copy>}" in message
    with pytest.raises(hub.HubUnavailable, match="--repo-type dataset"):
        hub.snapshot({"id": "microsoft/xglue", "revision": "main"}, key="xglue.hub", repo_type="dataset")


def test_pin_text_replaces_branches_and_keeps_commits() -> None:
    text = ("a: {id: org/model, revision: main}   # comment\n"
            f"b: {{id: org/data, revision: {COMMIT}}}\n"
            "c: {id: microsoft/xglue, revision: refs/convert/parquet}\n")
    asked = []

    def resolve(repo_id: str, revision: str) -> str:
        asked.append((repo_id, revision))
        return "f" * 40

    pinned = hub.pin_text(text, resolve)
    assert asked == [("org/model", "main"), ("microsoft/xglue", "refs/convert/parquet")]
    assert pinned == (f"a: {{id: org/model, revision: {'f' * 40}}}   # comment\n"
                      f"b: {{id: org/data, revision: {COMMIT}}}\n"
                      f"c: {{id: microsoft/xglue, revision: {'f' * 40}}}\n")


def test_paper_config_references_are_all_pinnable() -> None:
    text = (Path(__file__).resolve().parents[1] / "configs" / "paper.yaml").read_text(encoding="utf-8")
    ids = [match["id"] for match in hub.REFERENCE.finditer(text)]
    assert "facebook/mbart-large-50-many-to-many-mmt" in ids and "Helsinki-NLP/opus-100" in ids
    assert len(ids) == text.count("{id: ")  # every reference has the form the pinning rewrites
