"""The study grid (mtbridge.grid) without Snakemake: which jobs each shipped config asks for."""

from __future__ import annotations

import copy
import re

import pytest
from conftest import MICRO, ROOT

from mtbridge import paths
from mtbridge.config import load_config
from mtbridge.grid import PHASES, StudyGrid


@pytest.fixture(scope="module")
def micro() -> StudyGrid:
    """The micro study with two pretraining seeds (its config has one)."""
    config = load_config(MICRO)
    config["study"]["pretraining_seeds"] = [1, 2]
    return StudyGrid(config)


@pytest.fixture(scope="module")
def paper() -> StudyGrid:
    return StudyGrid(load_config(ROOT / "configs" / "paper.yaml"))


def test_every_run_of_the_micro_study(micro: StudyGrid) -> None:
    # mbart: 8 objectives, xlmr: 4; × 2 pretraining seeds × 5 tasks × 3 languages × 1 seed
    runs = micro.runs()
    assert len(runs) == 12 * 2 * 5 * 3 == len(set(runs))
    assert runs[0] == ("mbart", "source", 1, "nli", "en", 1)
    assert micro.metrics()[5] == paths.metrics(*runs[5])
    assert len(micro.predictions()) == len(runs)


def test_checkpoints_are_split_into_trained_here_and_the_rest(micro: StudyGrid) -> None:
    continued = micro.checkpoints(continued=True)
    others = micro.checkpoints(continued=False)
    # mbart: denoise-cp, codeswitch-cp, three MT objectives and a spectral swap; xlmr: tlm-cp and
    # codeswitch-cp; 2 pretraining seeds
    assert len(continued) == (6 + 2) * 2
    assert len(others) == (2 + 2) * 2  # source and random-init of both families
    assert not set(continued) & set(others)
    assert micro.checkpoint("mbart", "mt-m2m", 2) == paths.checkpoint("mbart", "mt-m2m", 2, hub=False)
    swap = micro.checkpoint("mbart", "mt-m2o+source-spectrum", 1)
    assert swap == "checkpoints/continued/mbart/mt-m2o+source-spectrum/pretrain1" and swap in continued
    assert set(micro.budget_checkpoints()) == {"mbart", "xlmr"}
    assert len(micro.budget_checkpoints()["mbart"]) == 6 * 2  # source + 5 trained continued (no swap)


def test_hub_objectives_are_fetched_not_trained(paper: StudyGrid) -> None:
    assert paper.is_hub("mbart50", "mt-m2o") and not paper.is_hub("mbart50cp", "mt-m2o")
    assert paper.checkpoint("mbart50", "mt-m2o", 1) == paths.checkpoint("mbart50", "mt-m2o", 1, hub=True)
    # the hub's MT checkpoints are not continued here: only mbart50cp's are
    assert all("mbart50cp" in path for path in paper.checkpoints(continued=True))
    assert "mbart50" not in paper.budget_checkpoints()


def test_continued_corpora_follow_the_objective(micro: StudyGrid) -> None:
    parallel = [paths.parallel_corpus("en", "close"), paths.parallel_corpus("en", "isolate")]
    assert micro.continued_corpora("mt-m2o") == parallel
    monolingual = [paths.monolingual_corpus(language) for language in ("en", "close", "isolate")]
    assert micro.continued_corpora("denoise-cp") == monolingual == micro.continued_corpora("mlm-cp")
    assert micro.continued_corpora("tlm-cp") == parallel
    switched = [paths.codeswitched_corpus(language) for language in ("en", "close", "isolate")]
    assert micro.continued_corpora("codeswitch-cp") == switched


def test_codeswitching_reads_the_dictionaries_of_its_languages(micro: StudyGrid, paper: StudyGrid) -> None:
    assert micro.codeswitch_source("close") == paths.monolingual_corpus("close")
    assert micro.codeswitch_pairs("en") == [("en", "close"), ("en", "isolate")]
    assert micro.codeswitch_pairs("isolate") == [("en", "isolate")]
    assert micro.dictionaries() == [paths.dictionary("en", "close"), paths.dictionary("en", "isolate")]
    assert set(micro.dictionaries() + micro.codeswitched_corpora()) <= set(micro.data_outputs())
    assert not paper.codeswitches and paper.dictionaries() == [] and paper.codeswitched_corpora() == []
    config = copy.deepcopy(paper.config)
    spec = config["models"]["mbart50cp"]
    spec["objectives"] = [*spec["objectives"], "codeswitch-cp"]
    config["parallel"]["dictionaries"] = {"de": "dictionaries/en-de.txt"}
    grid = StudyGrid(config)
    assert grid.codeswitched_names()[:2] == ["en-ar", "en-de"]
    assert grid.codeswitch_source("en-de") == paths.parallel_corpus("en", "de")
    assert grid.codeswitch_pairs("en-de") == [("en", "de")]
    assert grid.dictionary("en", "de") == "dictionaries/en-de.txt"  # the user's, read as given
    assert grid.dictionary("en", "fr") == paths.dictionary("en", "fr")  # induced
    assert paths.dictionary("en", "de") not in grid.dictionaries()
    assert paths.dictionary("en", "fr") in grid.dictionaries()


def test_a_spectral_swap_is_made_of_its_continued_checkpoint_and_source(micro: StudyGrid) -> None:
    continued, source = (micro.checkpoint("mbart", name, 2) for name in ("mt-m2o", "source"))
    assert micro.swap_checkpoints("mbart", "mt-m2o", "source-spectrum", 2) == {"vectors": continued,
                                                                                "values": source}
    assert micro.swap_checkpoints("mbart", "mt-m2o", "source-vectors", 2) == {"vectors": source,
                                                                               "values": continued}


def test_languages_are_grouped_by_resource_level(micro: StudyGrid, paper: StudyGrid) -> None:
    assert micro.resource_levels == {"high": ["en", "close"], "low": ["isolate"]}
    assert list(paper.resource_levels) == ["high"]


def test_data_phase_reads_train_and_dev_in_english_only(micro: StudyGrid) -> None:
    data = micro.data_outputs()
    assert paths.task_split("ner", "dev", "en") in data
    assert paths.task_split("ner", "dev", "close") not in data
    assert paths.task_split("ner", "test", "isolate") in data and paths.tokenizer() in data
    assert len(data) == len(set(data))
    assert micro.phase_targets("data") == [*data, *micro.test_sets()]


def test_xnli_evaluation_set_adds_xnli_splits_and_no_translation_check(paper: StudyGrid) -> None:
    config = copy.deepcopy(paper.config)
    config["evaluation"] = {**config["evaluation"], "source": "xnli"}
    grid = StudyGrid(config)
    assert "xnli" in grid.split_tasks and not grid.translates
    assert grid.translation_outputs() == [] and grid.test_sets() == []
    assert grid.phase_targets("finetuning") == [*grid.metrics(), *grid.baseline_metrics()]


def test_paper_study_counts(paper: StudyGrid) -> None:
    assert paper.translates and paper.seq2seq_models == ["mbart50", "mbart50cp"]
    assert len(paper.translation_languages) == 18
    # every task tested on its own languages only (XGLUE's tables)
    assert all(set(languages) <= set(paper.languages) for languages in paper.task_languages.values())
    assert len(paper.task_languages["ner"]) < len(paper.task_languages["xnli"])
    assert paper.translation_outputs()[-1] == paths.translation_figure("mbart50cp")


def test_wildcard_constraints_match_the_study_and_nothing_else(micro: StudyGrid) -> None:
    constraints = micro.wildcard_constraints()
    assert re.fullmatch(constraints["language"], "isolate")
    assert not re.fullmatch(constraints["language"], "mid")
    assert re.fullmatch(constraints["variant"], "mt-m2o")
    assert not re.fullmatch(constraints["variant"], "source")
    # a spectral swap's `+` is escaped: it matches itself, never a repeated letter
    assert re.fullmatch(constraints["objective"], "mt-m2o+source-spectrum")
    assert not re.fullmatch(constraints["objective"], "mt-m2oo")
    assert re.fullmatch(constraints["continued"], "tlm-cp")
    assert not re.fullmatch(constraints["continued"], "mt-m2o+source-spectrum")
    assert re.fullmatch(constraints["corpus"], "isolate")
    assert re.fullmatch(constraints["baseline"], "word-lookup")


def test_identity_ignores_scheduling_and_list_order() -> None:
    config = load_config(MICRO)
    scheduled = load_config(MICRO, overrides={"warm_workers": False, "resources": {"light": {"mem_mb": 9}},
                                              "reproduction": {"environment": "rerun"}})
    reordered = load_config(MICRO, overrides={"study": {"languages": ["isolate", "close", "en"]}})
    changed = load_config(MICRO, overrides={"study": {"seeds": [1, 2]}})
    identity = StudyGrid(config).identity()
    assert identity["name"] == "micro" and re.fullmatch(r"[0-9a-f]{12}", identity["config_hash"])
    assert StudyGrid(scheduled).identity() == identity == StudyGrid(reordered).identity()
    assert StudyGrid(changed).identity() != identity


def test_phase_targets_cover_the_study(micro: StudyGrid) -> None:
    assert set(micro.phase_targets("finetuning")) >= set(micro.metrics()) | set(micro.copy_scores())
    tables = micro.phase_targets("tables")
    assert paths.findings() in tables and paths.table("budget", "md") in tables
    assert paths.table("cka_models", "csv") in tables and paths.translation_table("md") in tables
    assert paths.table("alignment", "md") in tables and paths.table("spectra_ratio", "csv") in tables
    assert paths.alignment_figure("xlmr") in tables
    assert len(micro.phase_targets("analysis")) == len(micro.cka_languages()) + len(micro.cka_models()) + len(
        micro.spectra()) + len(micro.alignment())
    assert len(micro.alignment()) == len(micro.cka_languages())
    assert all(micro.phase_targets(phase) for phase in PHASES)
    with pytest.raises(ValueError, match="unknown phase 'train'"):
        micro.phase_targets("train")
