"""Where every artifact lives: one function per artifact, used by rules and tests alike.

Called with wildcard strings (``checkpoint("{model}", "{objective}")``) they give the
rule's output patterns; called with values they give concrete paths.
"""

from __future__ import annotations


def monolingual_corpus(language: str) -> str:
    return f"data/corpora/monolingual/{language}.parquet"


def evaluation_set(language: str) -> str:
    return f"data/corpora/evaluation/{language}.parquet"


def parallel_corpus(source: str, target: str) -> str:
    return f"data/corpora/parallel/{source}-{target}.parquet"


def task_split(task: str, split: str, language: str) -> str:
    return f"data/tasks/{task}/{split}/{language}.parquet"


def tokenizer() -> str:
    return "data/tokenizer"


def checkpoint(model: str, objective: str) -> str:
    return f"checkpoints/pretrained/{model}/{objective}"


def finetuned(model: str, objective: str, task: str, seed: str | int) -> str:
    return f"checkpoints/finetuned/{model}/{objective}/{task}/seed{seed}"


def predictions(model: str, objective: str, task: str, language: str, seed: str | int) -> str:
    return f"predictions/{model}/{objective}/{task}/{language}/seed{seed}.parquet"


def metrics(model: str, objective: str, task: str, language: str, seed: str | int) -> str:
    return f"metrics/{model}/{objective}/{task}/{language}/seed{seed}.json"


def transfer_table(extension: str) -> str:
    return f"results/tables/transfer.{extension}"


def summary() -> str:
    return "results/summary.json"


def log(rule: str, *parts: str) -> str:
    """The log of one job: ``logs/<rule>/<wildcards…>.log``."""
    return "/".join(["logs", rule, *parts]) + ".log"
