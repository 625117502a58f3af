"""The study grid: which jobs a validated config asks for, their wildcards, and the targets of each phase.

Everything the DAG needs to know about a study, as plain Python over the config, so that it is
unit-tested without Snakemake; rules/common.smk only adapts these to Snakemake's wildcards.
"""
from __future__ import annotations

import re

from mtbridge import paths
from mtbridge.config import (
    KNOWN_OBJECTIVES,
    MT_OBJECTIVES,
    SEQ2SEQ_ARCHITECTURES,
    SPECTRAL_SWAPS,
    SWAP_OBJECTIVES,
    TRAINABLE_CONTINUED,
    continued_languages,
    continued_trained_here,
    continued_variants,
    evaluation_languages,
    is_synthetic,
    model_objectives,
    parallel_pairs,
    resource_groups,
    task_definition,
    task_languages,
)
from mtbridge.provenance import config_hash
from mtbridge.tasks import BASELINES, task_baselines

SCHEDULING_KEYS = ("warm_workers", "resources", "reproduction")  # whether and where jobs run, not what
# they compute: left out of the config hash every table states
ANALYSIS_TABLES = ("cka_languages", "cka_models", "spectra_summary", "spectra_ratio", "alignment")
# the report's menu lists categories alphabetically: numbered so that it opens with the findings
REPORT_CATEGORIES = {"findings": "1 Findings", "transfer": "2 Transfer", "translation": "3 Translation",
                     "budget": "4 Pretraining budget", "cka": "5 CKA", "alignment": "6 Alignment",
                     "spectra": "7 Spectra"}
PAGE_CATEGORY = {"cka_languages": "cka", "cka_models": "cka", "spectra_summary": "spectra",
                 "spectra_ratio": "spectra"}
ANALYSIS_TITLES = {"cka_languages": "CKA across languages", "cka_models": "CKA between models",
                   "spectra_summary": "Singular values of the weights",
                   "spectra_ratio": "Singular values after continued pretraining, over the source's",
                   "alignment": "Bitext retrieval and language identification"}
TRAINED_HERE = ("source", *TRAINABLE_CONTINUED)  # objectives the pipeline trains (not random-init)
INDUCE = "induce"  # parallel.dictionaries: induce the dictionary from the parallel corpus
PHASES = ("data", "pretraining", "continued", "finetuning", "analysis", "tables")
Run = tuple[str, str, int, str, str, int]  # model, objective, pretraining seed, task, language, seed


class StudyGrid:
    """The jobs of one study. Lists come in the config's canonical order (config.order_grid), so
    targets and table rows are the same whatever order a user wrote the lists in."""

    def __init__(self, config: dict):
        self.config = config
        study = config["study"]
        self.name: str = study["name"]
        self.models: list[str] = study["models"]
        self.train: str = study["train_language"]
        self.languages: list[str] = study["languages"]
        self.tasks: list[str] = study["tasks"]
        self.seeds: list[int] = study["seeds"]
        self.pseeds: list[int] = study["pretraining_seeds"]
        self.synthetic = is_synthetic(config)
        # languages continued pretraining reads: the study's (synthetic), or en and the parallel corpus's
        self.continued_languages = continued_languages(config)
        self.task_languages = {task: task_languages(config, task) for task in self.tasks}
        self.analysis_languages = evaluation_languages(config)
        self.evaluation_source = None if self.synthetic else config["evaluation"]["source"]
        # tasks with splits to write: the study's, and XNLI when its test premises are the evaluation set
        xnli = [] if self.synthetic or self.evaluation_source != "xnli" else ["xnli"]
        self.split_tasks = list(dict.fromkeys([*self.tasks, *xnli]))
        self.translates = self.synthetic or self.evaluation_source == "flores"
        self.translation_languages = [language for language in self.languages if language != self.train]
        self.seq2seq_models = [model for model in self.models
                               if config["models"][model]["architecture"] in SEQ2SEQ_ARCHITECTURES]
        self.codeswitches = any("codeswitch-cp" in continued_trained_here(config["models"][model])
                                for model in self.models)
        # languages by resource level (issue #15): the tables group them where there is more than one
        self.resource_levels = resource_groups(config)

    # --- identity and wildcards ----------------------------------------------------------------
    def identity(self) -> dict:
        """What a table says about where it came from: the study's name and a hash of its config, less
        the scheduling keys (a SLURM run of the same study, without warm workers, makes the same tables)."""
        computed = {key: value for key, value in self.config.items() if key not in SCHEDULING_KEYS}
        return {"name": self.name, "config_hash": config_hash(computed)[:12]}

    def wildcard_constraints(self) -> dict[str, str]:
        """One regular expression per wildcard: a path matches a rule only with names the study knows."""
        return {
            "model": "|".join(self.models),
            "language": "|".join(self.languages),
            "source": "|".join(self.continued_languages),
            "target": "|".join(self.continued_languages),
            "task": "|".join(self.split_tasks),
            "split": "train|dev|test",
            "seed": r"\d+",
            "pseed": r"\d+",
            "objective": alternatives(KNOWN_OBJECTIVES),
            "continued": alternatives(TRAINABLE_CONTINUED),
            "swap": alternatives(SPECTRAL_SWAPS),
            "variant": alternatives(objective for objective in KNOWN_OBJECTIVES if objective != "source"),
            "baseline": "|".join(BASELINES),
            "page": "|".join(self.report_pages()),
            "corpus": alternatives(self.codeswitched_names()),
        }

    # --- checkpoints -------------------------------------------------------------------------
    def objectives(self, model: str) -> list[str]:
        return self.config["models"][model]["objectives"]

    def is_hub(self, model: str, objective: str) -> bool:
        return objective in self.config["models"][model]["hub"]

    def checkpoint(self, model: str, objective: str, pseed: int | str) -> str:
        """The one place that says where a model's objective checkpoint lives (hub or trained)."""
        return paths.checkpoint(model, objective, pseed, self.is_hub(model, objective))

    def trained_continued(self, model: str, objective: str) -> bool:
        """A continued checkpoint made here: trained, or derived from one by a spectral swap."""
        return objective in (*TRAINABLE_CONTINUED, *SWAP_OBJECTIVES) and not self.is_hub(model, objective)

    def swap_checkpoints(self, model: str, continued: str, swap: str, pseed: int | str) -> dict[str, str]:
        """The two checkpoints a spectral swap is made of: whose singular vectors it keeps and whose
        singular values it takes (``source-spectrum``: the continued vectors, the source values)."""
        pair = (self.checkpoint(model, continued, pseed), self.checkpoint(model, "source", pseed))
        vectors, values = pair if swap == "source-spectrum" else pair[::-1]
        return {"vectors": vectors, "values": values}

    def checkpoints(self, continued: bool) -> list[str]:
        """Every checkpoint of the study, pretraining seeds included: the continued ones or the others."""
        pairs = [pair for pair in model_objectives(self.config) if self.trained_continued(*pair) == continued]
        return list(dict.fromkeys(self.checkpoint(*pair, pseed) for pair in pairs for pseed in self.pseeds))

    def trains_continued(self) -> bool:
        """Whether any family continues pretraining here (else no parallel corpus is needed)."""
        return any(continued_trained_here(self.config["models"][model]) for model in self.models)

    def budget_checkpoints(self) -> dict[str, list[str]]:
        """The checkpoints the pipeline trains itself (source and continued), by family."""
        trained = {model: [self.checkpoint(model, objective, pseed)
                           for objective in self.objectives(model) for pseed in self.pseeds
                           if objective in TRAINED_HERE and not self.is_hub(model, objective)]
                   for model in self.models}
        return {model: folders for model, folders in trained.items() if folders}

    # --- data --------------------------------------------------------------------------------
    def monolingual_corpora(self) -> list[str]:
        return [paths.monolingual_corpus(language) for language in self.languages]

    def parallel_corpora(self) -> list[str]:
        return [paths.parallel_corpus(a, b) for a, b in parallel_pairs(self.config)]

    def continued_corpora(self, continued: str) -> list[str]:
        """MT objectives and ``tlm-cp`` read parallel corpora; the source objective continued
        (``denoise-cp``, ``mlm-cp``) reads the monolingual ones in the synthetic world, and both sides of
        the same parallel corpora in the XGLUE study; ``codeswitch-cp`` reads those code-switched."""
        if continued == "codeswitch-cp":
            return self.codeswitched_corpora()
        if continued in ("denoise-cp", "mlm-cp") and self.synthetic:
            return self.monolingual_corpora()
        return self.parallel_corpora()

    # --- code-switching (codeswitch-cp) ------------------------------------------------------
    def codeswitched_names(self) -> list[str]:
        """The corpora ``codeswitch-cp`` reads, code-switched: each language's monolingual corpus
        (synthetic) or each parallel corpus ``en-X`` (XGLUE study), as ``denoise-cp`` reads them."""
        if not self.codeswitches:
            return []
        if self.synthetic:
            return list(self.languages)
        return [f"{source}-{target}" for source, target in parallel_pairs(self.config)]

    def codeswitched_corpora(self) -> list[str]:
        return [paths.codeswitched_corpus(name) for name in self.codeswitched_names()]

    def codeswitch_source(self, corpus: str) -> str:
        """The corpus a code-switched one is made from."""
        if self.synthetic:
            return paths.monolingual_corpus(corpus)
        return paths.parallel_corpus(*corpus.split("-", 1))

    def codeswitch_pairs(self, corpus: str) -> list[tuple[str, str]]:
        """The (train language, X) dictionaries a code-switched corpus reads: every one for the train
        language's corpus, X's own for X's (a parallel corpus en-X: its pair's)."""
        pairs = parallel_pairs(self.config)
        if self.synthetic and corpus == self.train:
            return pairs
        languages = {corpus} if self.synthetic else set(corpus.split("-", 1))
        return [pair for pair in pairs if pair[1] in languages]

    def dictionary(self, source: str, target: str) -> str:
        """A pair's dictionary: the pipeline's (world lexicon, or induced), or the user's file as given
        under ``parallel.dictionaries`` (relative to the study's folder, where jobs run)."""
        given = (self.config.get("parallel") or {}).get("dictionaries", {}).get(target, INDUCE)
        return paths.dictionary(source, target) if self.synthetic or given == INDUCE else given

    def dictionaries(self) -> list[str]:
        """The dictionaries the pipeline writes (not the user's files)."""
        if not self.codeswitches:
            return []
        return [self.dictionary(*pair) for pair in parallel_pairs(self.config)
                if self.dictionary(*pair) == paths.dictionary(*pair)]

    def data_outputs(self) -> list[str]:
        """Every file of the data phase the study reads: each task's train and dev split in the training
        language (fine-tuning selects on that dev split), its test split in every language, corpora,
        evaluation sets (and the tokenizer)."""
        files = [paths.task_split(task, split, self.train) for task in self.tasks
                 for split in ("train", "dev")]
        files += [paths.task_split(task, "test", language)
                  for task in self.tasks for language in self.task_languages[task]]
        files += [paths.evaluation_set(language) for language in self.analysis_languages]
        if self.synthetic or self.trains_continued():
            files += self.parallel_corpora()
        files += [*self.dictionaries(), *self.codeswitched_corpora()]
        if self.synthetic:
            files += [*self.monolingual_corpora(), paths.tokenizer()]
        return files

    def ranking_test_splits(self) -> list[str]:
        """Test splits of ranking tasks (WPR): their text_a groups the predicted pages into nDCG's queries."""
        ranking = [task for task in self.tasks if task_definition(self.config, task)["metric"] == "ndcg"]
        return [paths.task_split(task, "test", language)
                for task in ranking for language in self.task_languages[task]]

    # --- fine-tuning, prediction, baselines --------------------------------------------------
    def runs(self) -> list[Run]:
        """(model, objective, pretraining seed, task, language, seed) of every fine-tuned run, in order."""
        return [(model, objective, pseed, task, language, seed)
                for model, objective in model_objectives(self.config) for pseed in self.pseeds
                for task in self.tasks for language in self.task_languages[task] for seed in self.seeds]

    def metrics(self) -> list[str]:
        return [paths.metrics(*run) for run in self.runs()]

    def predictions(self) -> list[str]:
        """The predictions of every run, in metrics() order: the transfer table pairs them by position."""
        return [paths.predictions(*run) for run in self.runs()]

    def baseline_runs(self) -> list[tuple[str, str, str]]:
        """(baseline, task, language) of every baseline job of the study."""
        return [(baseline, task, language) for task in self.tasks
                for baseline in task_baselines(task_definition(self.config, task))
                for language in self.task_languages[task]]

    def baseline_metrics(self) -> list[str]:
        return [paths.baseline_metrics(*run) for run in self.baseline_runs()]

    def baseline_predictions(self) -> list[str]:
        return [paths.baseline_predictions(*run) for run in self.baseline_runs()]

    # --- translation check -------------------------------------------------------------------
    def translation_scores(self) -> list[str]:
        return [paths.translation_scores(model, objective, pseed, self.train, language)
                for model in self.seq2seq_models for objective in self.objectives(model)
                for pseed in self.pseeds for language in self.translation_languages]

    def test_sets(self) -> list[str]:
        if not self.translates:
            return []
        return [paths.parallel_test_set(self.train, language) for language in self.translation_languages]

    def copy_scores(self) -> list[str]:
        return [paths.copy_scores(self.train, language) for language in self.translation_languages]

    def translation_rows(self) -> dict[str, list[str]]:
        return {model: self.objectives(model) for model in self.seq2seq_models}

    def translation_mt_pairs(self) -> dict[str, dict]:
        """The parallel pairs each MT objective of the table trained on; None for a hub checkpoint."""
        return {model: {objective: None if self.is_hub(model, objective) else parallel_pairs(self.config)
                        for objective in self.objectives(model) if objective in MT_OBJECTIVES}
                for model in self.seq2seq_models}

    def translation_outputs(self) -> list[str]:
        """The translation table and one figure per seq2seq family (none without held-out data)."""
        if not (self.translates and self.seq2seq_models and self.translation_languages):
            return []
        return [paths.translation_table("csv"), paths.translation_table("md"),
                *(paths.translation_figure(model) for model in self.seq2seq_models)]

    # --- analysis ----------------------------------------------------------------------------
    def languages_train_first(self) -> list[str]:
        """Analysis languages with the training language first, so CKA pairs read train–X."""
        return [self.train, *(language for language in self.analysis_languages if language != self.train)]

    def language_dumps(self, model: str, objective: str, pseed: int | str) -> list[str]:
        return [paths.activations(model, objective, pseed, language)
                for language in self.languages_train_first()]

    def family_cka_models(self, model: str) -> list[str]:
        return [paths.cka_models(model, variant, pseed, language)
                for variant in continued_variants(self.config, model)
                for pseed in self.pseeds for language in self.analysis_languages]

    def family_spectra(self, model: str) -> list[str]:
        return [paths.spectra(model, objective, pseed)
                for objective in self.objectives(model) for pseed in self.pseeds]

    def objective_cka_languages(self, model: str, objective: str) -> list[str]:
        """One model × objective's CKA over languages, every pretraining seed (a figure shows their mean)."""
        return [paths.cka_languages(model, objective, pseed) for pseed in self.pseeds]

    def cka_languages(self) -> list[str]:
        return [path for model, objective in model_objectives(self.config)
                for path in self.objective_cka_languages(model, objective)]

    def cka_models(self) -> list[str]:
        return [path for model in self.models for path in self.family_cka_models(model)]

    def spectra(self) -> list[str]:
        return [path for model in self.models for path in self.family_spectra(model)]

    def family_alignment(self, model: str) -> list[str]:
        """Bitext retrieval and the language probe of every objective of a family (none with fewer than
        two analysis languages: there is nothing to align)."""
        if len(self.analysis_languages) < 2:
            return []
        return [paths.alignment(model, objective, pseed)
                for objective in self.objectives(model) for pseed in self.pseeds]

    def alignment(self) -> list[str]:
        return [path for model in self.models for path in self.family_alignment(model)]

    def spectra_ratio_families(self) -> list[str]:
        """Families whose spectra have a source and another objective to divide by it."""
        return [model for model in self.models if continued_variants(self.config, model)]

    def spectra_ratio_inputs(self) -> list[str]:
        return [path for model in self.spectra_ratio_families() for path in self.family_spectra(model)]

    def analysis_tables(self) -> list[str]:
        """The analysis tables this study has (no CKA between models without a continued variant, …)."""
        present = {"cka_models": bool(self.cka_models()), "alignment": bool(self.alignment()),
                   "spectra_ratio": bool(self.spectra_ratio_families())}
        return [name for name in ANALYSIS_TABLES if present.get(name, True)]

    def analysis_outputs(self) -> list[str]:
        """Every analysis table and figure of the study."""
        tables = [paths.table(name, extension)
                  for name in self.analysis_tables() for extension in ("csv", "md")]
        figures = [paths.cka_language_figure(*pair) for pair in model_objectives(self.config)]
        figures += [paths.spectra_figure(model) for model in self.models]
        figures += [paths.alignment_figure(model) for model in self.models if self.family_alignment(model)]
        figures += [paths.cka_model_figure(model) for model in self.models
                    if continued_variants(self.config, model)]
        return tables + figures

    # --- tables and phases -------------------------------------------------------------------
    def transfer_tables(self) -> list[str]:
        return [paths.transfer_table("csv"), paths.transfer_table("md"), paths.transfer_tests(),
                paths.findings(), paths.summary()]

    def report_pages(self) -> dict[str, dict[str, str]]:
        """Each Markdown table of the study (and the findings) -> its HTML page in the report: the
        Markdown it renders, and the page's title."""
        sources = {"findings": (paths.findings(), "Findings"),
                   "transfer": (paths.transfer_table("md"), "Zero-shot transfer")}
        if self.translation_outputs():
            sources["translation"] = (paths.translation_table("md"), "Do the MT checkpoints translate?")
        if self.budget_tables():
            sources["budget"] = (paths.table("budget", "md"), "Pretraining budget")
        sources |= {name: (paths.table(name, "md"), ANALYSIS_TITLES[name])
                    for name in self.analysis_tables()}
        return {name: {"markdown": markdown, "title": title, "page": paths.report_page(name),
                       "category": REPORT_CATEGORIES[PAGE_CATEGORY.get(name, name)]}
                for name, (markdown, title) in sources.items()}

    def budget_tables(self) -> list[str]:
        if not self.trains_continued():
            return []
        return [paths.table("budget", extension) for extension in ("csv", "md")]

    def phase_targets(self, phase: str) -> list[str]:
        """What one phase of the study builds (a DVC stage asks Snakemake for exactly this)."""
        if phase == "data":
            return [*self.data_outputs(), *self.test_sets()]
        if phase in ("pretraining", "continued"):
            return self.checkpoints(continued=phase == "continued")
        if phase == "finetuning":
            scores = [*self.translation_scores(), *self.copy_scores()] if self.translation_outputs() else []
            return [*self.metrics(), *self.baseline_metrics(), *scores]
        if phase == "analysis":
            return [*self.cka_languages(), *self.cka_models(), *self.spectra(), *self.alignment()]
        if phase == "tables":
            pages = [page["page"] for page in self.report_pages().values()]
            return [*self.transfer_tables(), *self.budget_tables(), *self.translation_outputs(),
                    *self.analysis_outputs(), *pages]
        raise ValueError(f"unknown phase {phase!r}: expected one of {', '.join(PHASES)}")


def alternatives(names) -> str:
    """A wildcard's regular expression: one of ``names`` exactly (``+`` in a swap's name escaped); a
    pattern that matches nothing where there are none."""
    names = list(names)
    return "|".join(re.escape(name) for name in names) if names else "(?!)"
