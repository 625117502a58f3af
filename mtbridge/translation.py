"""The manipulation check: do the MT-continued checkpoints translate?

Every checkpoint of a seq2seq family translates a held-out parallel test set en→X and X→en by
greedy decoding, framed exactly as continued pretraining trained it (mtbridge.pretraining:
``[src_lang] x </s>`` in, ``[tgt_lang] y </s>`` out), and is scored with sacrebleu at corpus level:
chrF++ (``CHRF(word_order=2)``) and BLEU, both with sacrebleu's defaults (BLEU's ``13a`` tokenizer,
which leaves the synthetic world's space-separated words and punctuation as they are; the exact
settings are the signatures stored with every score). Copying the source sentence is the floor:
without it, a language sharing cognates with English would make any model look like a translator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import pyarrow as pa
import torch
from sacrebleu.metrics import BLEU, CHRF

from mtbridge.aliases import PathLike
from mtbridge.io import read_json, read_parquet, write_json, write_parquet, write_text
from mtbridge.models import load_pretrained
from mtbridge.pretraining import Pair, keeps_direction, truncate
from mtbridge.tabular import pipe_table, titled, without_empty_columns
from mtbridge.tasks import CORPUS_SCHEMA, PARALLEL_SCHEMA
from mtbridge.tokenizer import Framing, encode_texts, framing, load_tokenizer
from mtbridge.training import Device, pad, seed_everything, select_device

BATCH_SIZE = 32  # fixed, not a setting: another batch pads differently, which can flip a near-tied argmax
METRICS = {"chrf": "chrF++", "bleu": "BLEU"}
COPY = ("baseline", "copy")  # the copy-the-source row of the table
TRAINED_MARK = "†"
HYPOTHESES_SCHEMA = pa.schema([
    ("id", pa.string()), ("source_language", pa.string()), ("target_language", pa.string()),
    ("source", pa.string()), ("reference", pa.string()), ("hypothesis", pa.string()),
])


# --- test sets -------------------------------------------------------------------------------


def both_directions(test_path: PathLike) -> list[dict]:
    """The test set's rows as ``source → reference`` items, first as stored (en→X), then reversed."""
    rows = read_parquet(test_path, PARALLEL_SCHEMA).to_pylist()
    forward = [{"id": row["id"], "source_language": row["source_language"],
                "target_language": row["target_language"], "source": row["source"],
                "reference": row["target"]} for row in rows]
    backward = [{**item, "source_language": item["target_language"],
                 "target_language": item["source_language"], "source": item["reference"],
                 "reference": item["source"]} for item in forward]
    return forward + backward


def pair_evaluation_sets(*, source_path: PathLike, target_path: PathLike, path: PathLike) -> None:
    """A test set from two languages' parallel evaluation sentences (FLORES devtest at paper scale),
    matched by id: FLORES is held out from every model's training data, as the synthetic test set is."""
    source = read_parquet(source_path, CORPUS_SCHEMA).to_pylist()
    target = {row["id"]: row for row in read_parquet(target_path, CORPUS_SCHEMA).to_pylist()}
    missing = [row["id"] for row in source if row["id"] not in target]
    if missing or len(source) != len(target):
        raise ValueError(f"{source_path} and {target_path} do not hold the same sentence ids "
                         f"(e.g. {missing[:3]}); they cannot be paired")
    rows = [{"id": row["id"], "source_language": row["language"],
             "target_language": target[row["id"]]["language"], "source": row["text"],
             "target": target[row["id"]]["text"]} for row in source]
    write_parquet(rows, path, PARALLEL_SCHEMA)


# --- decoding --------------------------------------------------------------------------------


def encode_sources(tokenizer, frame: Framing, texts: Sequence[str], language: str,
                   max_length: int) -> list[list[int]]:
    """``[src_lang] x </s>``, truncated as translation_batches truncates training sources."""
    return [frame.frame(truncate(ids, max_length - 2), language)[0]
            for ids in encode_texts(tokenizer, texts)]


@torch.inference_mode()
def generate_ids(model: torch.nn.Module, frame: Framing, sources: Sequence[Sequence[int]],
                 target_language: str, max_length: int, where: Device,
                 batch_size: int = BATCH_SIZE) -> list[list[int]]:
    """Greedy decoding. Training fed the decoder ``</s> [tgt_lang] y`` (mBART's shift_tokens_right
    wraps the final ``</s>`` to the front), so decoding starts from ``</s>`` and forces the tag next."""
    outputs: list[list[int]] = []
    for start in range(0, len(sources), batch_size):
        input_ids = pad(sources[start:start + batch_size], frame.pad).to(where.device)
        with where.context():
            ids = model.generate(
                input_ids=input_ids, attention_mask=(input_ids != frame.pad).long(),
                num_beams=1, do_sample=False, max_length=max_length,
                decoder_start_token_id=frame.eos, forced_bos_token_id=frame.language_ids[target_language],
                eos_token_id=frame.eos, pad_token_id=frame.pad,
            )
        outputs.extend(ids.tolist())
    return outputs


def translate(model: torch.nn.Module, tokenizer, frame: Framing, texts: Sequence[str],
              source_language: str, target_language: str, max_length: int, where: Device,
              batch_size: int = BATCH_SIZE) -> list[str]:
    """Greedy translations of ``texts``, without language tags and special tokens."""
    sources = encode_sources(tokenizer, frame, texts, source_language, max_length)
    ids = generate_ids(model, frame, sources, target_language, max_length, where, batch_size)
    decoded = tokenizer.batch_decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
    return [text.strip() for text in decoded]


# --- scoring ---------------------------------------------------------------------------------


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float | str]:
    """Corpus chrF++ and BLEU (0–100) and their sacrebleu signatures."""
    record: dict[str, float | str] = {}
    for name, metric in (("chrf", CHRF(word_order=2)), ("bleu", BLEU())):
        record[name] = round(metric.corpus_score(list(hypotheses), [list(references)]).score, 4)
        record[f"{name}_signature"] = str(metric.get_signature())
    return record


def by_direction(items: Sequence[dict]) -> dict[tuple[str, str], list[dict]]:
    """Items grouped by (source language, target language), in first-seen order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for item in items:
        groups.setdefault((item["source_language"], item["target_language"]), []).append(item)
    return groups


def write_scores(items: Sequence[dict], path: PathLike, meta: Mapping[str, str]) -> None:
    """One score record per direction of ``items`` (rows with source, reference and hypothesis)."""
    records = [{"source_language": source, "target_language": target, "sentences": len(chosen),
                **corpus_scores([item["hypothesis"] for item in chosen],
                                [item["reference"] for item in chosen])}
               for (source, target), chosen in by_direction(items).items()]
    write_json({**meta, "directions": records}, path)


def translate_test_set(*, spec: dict, languages: Sequence[str], checkpoint_dir: str, test_path: str,
                       hypotheses_path: str, scores_path: str, meta: dict, threads: int,
                       device: dict | None = None) -> None:
    """Translate the test set both ways with one checkpoint; write the hypotheses and their scores."""
    seed_everything(0, threads)
    where = select_device(device)
    tokenizer = load_tokenizer(checkpoint_dir)
    frame = framing(tokenizer, spec["architecture"], languages, spec.get("language_fallback"))
    model = load_pretrained(checkpoint_dir).to(where.device).eval()
    items = both_directions(test_path)
    for direction, chosen in by_direction(items).items():
        hypotheses = translate(model, tokenizer, frame, [item["source"] for item in chosen], *direction,
                               spec["max_length"], where)
        for item, hypothesis in zip(chosen, hypotheses, strict=True):
            item["hypothesis"] = hypothesis
    write_parquet(items, hypotheses_path, HYPOTHESES_SCHEMA)
    write_scores(items, scores_path, meta)


def score_copy(*, test_path: str, scores_path: str) -> None:
    """The floor: each source sentence offered as its own translation."""
    items = [{**item, "hypothesis": item["source"]} for item in both_directions(test_path)]
    write_scores(items, scores_path, dict(zip(("model", "objective"), COPY, strict=True)))


# --- the table -------------------------------------------------------------------------------


def direction_name(source: str, target: str) -> str:
    return f"{source}-{target}"


def score_column(metric: str, direction: str) -> str:
    """The CSV column of one metric in one direction, e.g. ``chrf.en-close``."""
    return f"{metric}.{direction}"


def table_directions(train_language: str, languages: Sequence[str]) -> list[str]:
    """en→X then X→en for every X, in configured order."""
    return [name for language in languages
            for name in (direction_name(train_language, language), direction_name(language, train_language))]


def trained_directions(objective: str, pairs: Iterable[Sequence[str]], train_language: str) -> list[str]:
    """The directions an MT objective trained on, as mtbridge.pretraining.read_pairs kept them."""
    both = [(a, b) for a, b in pairs] + [(b, a) for a, b in pairs]
    return [direction_name(a, b) for a, b in both
            if keeps_direction(Pair(a, [], b, []), objective, train_language)]


SCORE_KEYS = ["model", "objective", "pretraining_seed", "direction"]


def load_scores(paths: Iterable[PathLike]) -> pd.DataFrame:
    """One row per (model, objective, pretraining seed, direction) with its chrF++ and BLEU; the copy
    floor has pretraining seed 0."""
    records = []
    for path in paths:
        record = read_json(path)
        for scores in record["directions"]:
            records.append({"model": record["model"], "objective": record["objective"],
                            "pretraining_seed": record.get("pretraining_seed", 0),
                            "direction": direction_name(scores["source_language"], scores["target_language"]),
                            **{metric: scores[metric] for metric in METRICS}})
    return pd.DataFrame(records, columns=[*SCORE_KEYS, *METRICS])


def translation_table(scores: pd.DataFrame, rows: Sequence[tuple[str, str]],
                      directions: Sequence[str]) -> pd.DataFrame:
    """Rows ``rows`` (then the copy floor), columns metric × direction, the mean over pretraining seeds;
    a missing or doubled score fails."""
    doubled = scores[scores.duplicated(SCORE_KEYS, keep=False)]
    if not doubled.empty:
        twice = doubled[SCORE_KEYS].drop_duplicates().to_dict("records")
        raise ValueError(f"duplicate translation scores (given twice): {twice[:3]}")
    wide = scores.pivot_table(index=["model", "objective"], columns="direction", values=list(METRICS),
                              aggfunc="mean")
    wanted = [(metric, direction) for metric in METRICS for direction in directions]
    index = pd.MultiIndex.from_tuples([*rows, COPY], names=["model", "objective"])
    table = wide.reindex(index=index, columns=pd.MultiIndex.from_tuples(wanted))
    if table.isna().to_numpy().any():
        gaps = [f"{row} {metric} {direction}" for row, values in table.iterrows()
                for (metric, direction), value in values.items() if pd.isna(value)]
        raise ValueError(f"translation scores missing for {len(gaps)} cell(s), e.g. {gaps[:3]}")
    table.columns = [score_column(metric, direction) for metric, direction in wanted]
    return table


def trained_by_row(mt_pairs: Mapping[str, Mapping[str, list | None]], train_language: str,
                   directions: Sequence[str]) -> dict[tuple[str, str], list[str] | None]:
    """The table's directions each MT row trained on; None for a hub checkpoint (trained as published)."""
    return {(model, objective): None if pairs is None else
            [d for d in directions if d in trained_directions(objective, pairs, train_language)]
            for model, objectives in mt_pairs.items() for objective, pairs in objectives.items()}


def arrow(direction: str) -> str:
    return direction.replace("-", "→", 1)


def markdown(table: pd.DataFrame, directions: Sequence[str],
             trained: Mapping[tuple[str, str], list[str] | None], study: Mapping[str, str]) -> str:
    """One pipe table per metric, trained cells marked; then which directions each MT objective saw."""
    parts = [titled("Translation check: held-out test set, greedy decoding", study)]
    for metric, label in METRICS.items():
        lines = [["model", "objective", *map(arrow, directions)], ["---", "---", *["---:"] * len(directions)]]
        for (model, objective), values in table.iterrows():
            seen = trained.get((model, objective)) or []
            lines.append([model, objective, *(f"{values[score_column(metric, d)]:.1f}"
                                              + (TRAINED_MARK if d in seen else "") for d in directions)])
        parts.append(f"## {label}\n\n" + pipe_table(lines))
    legend = [f"{TRAINED_MARK} a direction the objective was trained on. Floor: `{COPY[0]} / {COPY[1]}`, "
              "the source sentence offered as its translation.", ""]
    for (model, objective), seen in ((row, trained[row]) for row in table.index if row in trained):
        described = "the directions of the published hub checkpoint" if seen is None else (
            ", ".join(map(arrow, seen)) or "none of these directions")
        legend.append(f"- {model} / {objective}: trained on {described}")
    parts.append("\n".join(legend) + "\n")
    return "\n".join(parts)


def trained_cell(trained: Mapping[tuple[str, str], list[str] | None], row: tuple[str, str]) -> str:
    """The CSV's ``trained`` cell: directions joined by ``;``, ``hub`` for a hub checkpoint."""
    if row not in trained:
        return ""
    seen = trained[row]
    return "hub" if seen is None else ";".join(seen)


def write_translation_tables(*, paths: Sequence[PathLike], rows: Mapping[str, list[str]],
                             languages: Sequence[str], train_language: str,
                             mt_pairs: Mapping[str, Mapping[str, list | None]], study: Mapping[str, str],
                             csv_path: PathLike, markdown_path: PathLike) -> None:
    """The translation table as CSV (a ``trained`` column lists each row's trained directions) and
    Markdown. ``rows`` maps each model to its objectives, ``languages`` are the X of en↔X, ``mt_pairs``
    the parallel pairs each trained MT objective read (None where it came from the hub); ``study``
    (name and config hash) heads the Markdown."""
    directions = table_directions(train_language, languages)
    row_keys = [(model, objective) for model, objectives in rows.items() for objective in objectives]
    table = translation_table(load_scores(paths), row_keys, directions)
    trained = trained_by_row(mt_pairs, train_language, directions)
    csv = table.round(2)
    csv.insert(0, "trained", [trained_cell(trained, row) for row in csv.index])
    write_text(without_empty_columns(csv.reset_index()).to_csv(index=False, lineterminator="\n"), csv_path)
    write_text(markdown(table, directions, trained, study), markdown_path)
