"""Where every artifact lives: one function per artifact, used by rules and tests alike.

Called with wildcard strings (``checkpoint("{model}", "{objective}")``) they give the
rule's output patterns; called with values they give concrete paths.
"""

from __future__ import annotations

from mtbridge.objectives import TRAINABLE_CONTINUED

ARTIFACT_FOLDERS = ("data", "checkpoints", "predictions", "metrics", "analysis", "results")


def study_root(name: str) -> str:
    """The folder a study runs in (Snakemake's working directory): every path below is relative to it."""
    return f"studies/{name}"


def monolingual_corpus(language: str) -> str:
    return f"data/corpora/monolingual/{language}.parquet"


def evaluation_set(language: str) -> str:
    return f"data/corpora/evaluation/{language}.parquet"


def parallel_corpus(source: str, target: str) -> str:
    return f"data/corpora/parallel/{source}-{target}.parquet"


def task_split(task: str, split: str, language: str) -> str:
    return f"data/tasks/{task}/{split}/{language}.parquet"


def dictionary(source: str, target: str) -> str:
    """A MUSE-style ``source``→``target`` dictionary written by the pipeline (``codeswitch-cp``): from the
    synthetic world's lexicon, or induced from the parallel corpus."""
    return f"data/dictionaries/{source}-{target}.txt"


def codeswitched_corpus(corpus: str) -> str:
    """A corpus with a share of its words code-switched (``codeswitch-cp``): a language's monolingual
    corpus (synthetic world), or both sides of a parallel corpus ``en-X`` (paper scale)."""
    return f"data/corpora/codeswitched/{corpus}.parquet"


def tokenizer() -> str:
    return "data/tokenizer"


def xglue_release() -> str:
    """The checksum-verified copy of the official XGLUE release that the task splits are read from."""
    return "data/xglue/release"


def checkpoint_root(objective: str, hub: bool = False) -> str:
    """Pretrained (source, random-init), continued and hub checkpoints live apart: DVC stages own folders."""
    if hub:
        return "checkpoints/hub"
    return f"checkpoints/{'continued' if is_continued(objective) else 'pretrained'}"


def is_continued(objective: str) -> bool:
    """A continued objective, or a spectral swap derived from one (``mt-m2o+source-spectrum``), or the
    rules' patterns of either: their checkpoints live under ``checkpoints/continued``."""
    parent = objective.partition("+")[0]
    return parent == "{continued}" or parent in TRAINABLE_CONTINUED


def pretrained(pseed: str | int) -> str:
    """The path segment of one pretraining seed: every trained checkpoint, and all that is made from
    it, exists once per seed in ``study.pretraining_seeds``."""
    return f"pretrain{pseed}"


def checkpoint(model: str, objective: str, pseed: str | int, hub: bool = False) -> str:
    """A checkpoint folder; ``hub`` for one fetched from a pinned hub revision instead of trained (one
    per objective: the pretraining seed is the hub's)."""
    root = f"{checkpoint_root(objective, hub)}/{model}/{objective}"
    return root if hub else f"{root}/{pretrained(pseed)}"


def finetuned(model: str, objective: str, pseed: str | int, task: str, seed: str | int) -> str:
    return f"checkpoints/finetuned/{model}/{objective}/{pretrained(pseed)}/{task}/seed{seed}"


def predictions(model: str, objective: str, pseed: str | int, task: str, language: str,
                seed: str | int) -> str:
    return f"predictions/{model}/{objective}/{pretrained(pseed)}/{task}/{language}/seed{seed}.parquet"


def metrics(model: str, objective: str, pseed: str | int, task: str, language: str, seed: str | int) -> str:
    return f"metrics/{model}/{objective}/{pretrained(pseed)}/{task}/{language}/seed{seed}.json"


def activations(model: str, objective: str, pseed: str | int, language: str) -> str:
    return f"analysis/activations/{model}/{objective}/{pretrained(pseed)}/{language}.safetensors"


def cka_languages(model: str, objective: str, pseed: str | int) -> str:
    return f"analysis/cka/languages/{model}/{objective}/{pretrained(pseed)}.parquet"


def cka_models(model: str, objective: str, pseed: str | int, language: str) -> str:
    """CKA between ``model``'s source checkpoint and its ``objective`` variant on one language."""
    return f"analysis/cka/models/{model}/{objective}/{pretrained(pseed)}/{language}.parquet"


def spectra(model: str, objective: str, pseed: str | int) -> str:
    return f"analysis/spectra/{model}/{objective}/{pretrained(pseed)}.parquet"


def alignment(model: str, objective: str, pseed: str | int) -> str:
    """Bitext retrieval and the language-identification probe per layer of one model × objective."""
    return f"analysis/alignment/{model}/{objective}/{pretrained(pseed)}.parquet"


def table(name: str, extension: str) -> str:
    """An aggregated table: transfer, cka_languages, cka_models, spectra_summary, spectra_ratio, alignment."""
    return f"results/tables/{name}.{extension}"


def transfer_table(extension: str) -> str:
    return table("transfer", extension)


def transfer_tests() -> str:
    """The paired tests behind the transfer table's significance marks."""
    return table("transfer_tests", "csv")


def report_page(name: str) -> str:
    """A Markdown table or the findings as an HTML page for `snakemake --report`."""
    return f"results/report/{name}.html"


def findings() -> str:
    """The study's claims, one sentence per test of a task average."""
    return "results/findings.md"


def cka_language_figure(model: str, objective: str) -> str:
    return f"results/figures/cka_languages/{model}/{objective}.png"


def cka_model_figure(model: str) -> str:
    return f"results/figures/cka_models/{model}.png"


def alignment_figure(model: str) -> str:
    return f"results/figures/alignment/{model}.png"


def spectra_figure(model: str) -> str:
    return f"results/figures/spectra/{model}.png"


def summary() -> str:
    return "results/summary.json"


def log(rule: str, *parts: str) -> str:
    """The log of one job: ``logs/<rule>/<wildcards…>.log``."""
    return "/".join(["logs", rule, *parts]) + ".log"


def parallel_test_set(source: str, target: str) -> str:
    """Held-out sentence pairs of the translation check (no meaning shared with the parallel corpus)."""
    return f"data/corpora/parallel_test/{source}-{target}.parquet"


def translations(model: str, objective: str, pseed: str | int, source: str, target: str) -> str:
    """Greedy translations of one test set, both directions."""
    return f"predictions/translation/{model}/{objective}/{pretrained(pseed)}/{source}-{target}.parquet"


def translation_scores(model: str, objective: str, pseed: str | int, source: str, target: str) -> str:
    return f"metrics/translation/{model}/{objective}/{pretrained(pseed)}/{source}-{target}.json"


def copy_scores(source: str, target: str) -> str:
    """The copy-the-source floor of one test set, both directions."""
    return f"metrics/translation/copy/{source}-{target}.json"


def translation_table(extension: str) -> str:
    return table("translation", extension)


def translation_figure(model: str) -> str:
    return f"results/figures/translation/{model}.png"


def baseline_predictions(baseline: str, task: str, language: str) -> str:
    """A surface baseline's test predictions (mtbridge.baselines): trained on the train language."""
    return f"predictions/baseline/{baseline}/{task}/{language}.parquet"


def baseline_metrics(baseline: str, task: str, language: str) -> str:
    return f"metrics/baseline/{baseline}/{task}/{language}.json"
