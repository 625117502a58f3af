"""Real parallel text: the corpus of the pipeline's own MT continued pretraining (OPUS-100 style)
and the parallel evaluation sentences of the CKA analysis (FLORES-200/FLORES+ or XNLI's test set).

Both are written in the synthetic world's Parquet schemas, so every later job reads them unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from mtbridge import hub
from mtbridge.aliases import PathLike
from mtbridge.io import read_parquet, write_parquet
from mtbridge.tasks import CLASSIFICATION_SCHEMA, CORPUS_SCHEMA, PARALLEL_SCHEMA
from mtbridge.tokenizer import NLLB_CODES


def pair_config(source: str, target: str) -> str:
    """OPUS-100's name of a language pair: the two codes in alphabetical order (``de-en``)."""
    return "-".join(sorted((source, target)))


def write_parallel_corpus(*, ref: dict, key: str, source: str, target: str, split: str,
                          max_pairs: int, path: PathLike) -> None:
    """The first ``max_pairs`` pairs of one language pair, ``source`` → ``target``.

    Rows hold ``translation: {<lang>: text, …}`` as OPUS-100 stores them; empty sides are dropped.
    """
    config = pair_config(source, target)
    root = hub.snapshot(ref, key=key, repo_type="dataset", allow_patterns=[f"{config}/*"])
    rows = []
    with hub.parquet_dataset(hub.parquet_files(root, config, split)) as dataset:
        if "translation" not in dataset.column_names:
            raise ValueError(f"{root}/{config}: no 'translation' column (found {dataset.column_names})")
        for record in dataset:
            pair = record["translation"]
            if not (pair.get(source) or "").strip() or not (pair.get(target) or "").strip():
                continue
            rows.append({"id": f"{config}-{split}-{len(rows)}", "source_language": source,
                         "target_language": target, "source": pair[source], "target": pair[target]})
            if len(rows) == max_pairs:
                break
    if not rows:
        raise ValueError(f"{root}/{config}: no {source}-{target} pairs in split {split!r}")
    write_parquet(rows, path, PARALLEL_SCHEMA)


def flores_code(language: str, codes: Mapping[str, str]) -> str:
    code = codes.get(language) or NLLB_CODES.get(language)
    if code is None:
        raise ValueError(f"language {language!r} has no FLORES code; add it to evaluation.codes")
    return code


def write_flores_sentences(*, ref: dict, key: str, language: str, split: str, codes: Mapping[str, str],
                           max_sentences: int, path: PathLike) -> None:
    """One language's FLORES sentences (``<split>/<code>.parquet``, FLORES+'s layout), ids shared by
    every language, so rows align across the dumps."""
    code = flores_code(language, codes)
    root = hub.snapshot(ref, key=key, repo_type="dataset", allow_patterns=[f"{split}/{code}*"])
    rows = []
    with hub.parquet_dataset(hub.parquet_files(root, split, code)) as dataset:
        column = next((name for name in ("text", "sentence") if name in dataset.column_names), None)
        if column is None:
            raise ValueError(f"{root}/{split}/{code}: no 'text' or 'sentence' column "
                             f"(found {dataset.column_names})")
        for index, record in enumerate(dataset):
            identifier = record.get("id", index)
            rows.append({"id": f"flores-{split}-{identifier}", "language": language,
                         "text": record[column]})
            if len(rows) == max_sentences:
                break
    write_parquet(rows, path, CORPUS_SCHEMA)


def premise_starts(rows: list[dict]) -> list[int]:
    """The rows where a new premise begins (each XNLI premise comes with three hypotheses in a row)."""
    return [index for index, row in enumerate(rows)
            if index == 0 or row["text_a"] != rows[index - 1]["text_a"]]


def check_xnli_aligned(rows: list[dict], reference: list[dict], path: PathLike,
                       reference_path: PathLike) -> None:
    """XNLI is translated item by item, so row i is the same item in every language: a file whose
    rows are shifted, dropped or reordered has English premises starting inside one of its own."""
    if len(rows) != len(reference):
        raise ValueError(f"{path}: {len(rows)} XNLI test rows, but {reference_path} has {len(reference)}: "
                         "the file is not aligned with English; write the split again")
    continued = sorted(set(premise_starts(reference)) - set(premise_starts(rows)))
    if continued:
        raise ValueError(f"{path}: XNLI test premises not aligned with {reference_path}: {len(continued)} "
                         f"English premise(s) start where this file's premise goes on (first at row "
                         f"{continued[0]}); write the split again")


def write_xnli_sentences(*, test_path: PathLike, reference_path: PathLike, language: str,
                         max_sentences: int, path: PathLike) -> None:
    """One language's XNLI test premises, each once, keyed by the row where the premise starts in
    the English test set (``reference_path``), not by a count: a translation that words one premise
    two ways, or a shifted file, cannot pair the wrong sentences across languages."""
    rows = read_parquet(test_path, CLASSIFICATION_SCHEMA).to_pylist()
    reference = read_parquet(reference_path, CLASSIFICATION_SCHEMA).to_pylist()
    check_xnli_aligned(rows, reference, test_path, reference_path)
    starts = premise_starts(reference)[:max_sentences]
    write_parquet([{"id": f"xnli-test-{start}", "language": language, "text": rows[start]["text_a"]}
                   for start in starts], path, CORPUS_SCHEMA)


def write_evaluation_set(*, evaluation: dict, language: str, path: PathLike,
                         test_path: PathLike | None = None, reference_path: PathLike | None = None) -> None:
    """One language's parallel evaluation sentences, from the source `evaluation` names (for XNLI,
    ``test_path`` is the language's test split and ``reference_path`` the English one)."""
    if evaluation["source"] == "xnli":
        write_xnli_sentences(test_path=test_path, reference_path=reference_path, language=language,
                             max_sentences=evaluation["max_sentences"], path=path)
    else:
        write_flores_sentences(ref=evaluation["hub"], key="evaluation.hub", language=language,
                               split=evaluation["split"], codes=evaluation["codes"],
                               max_sentences=evaluation["max_sentences"], path=path)
