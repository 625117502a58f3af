"""A shared subword vocabulary trained locally, framed the way mBART-50 and XLM-R frame input.

The tokenizer is trained with the `tokenizers` library (BPE over Metaspace pieces,
as SentencePiece-BPE does) and saved as a transformers fast tokenizer, so the same
directory loads with ``AutoTokenizer.from_pretrained``. BPE rather than Unigram:
the `tokenizers` Unigram trainer gives a different vocabulary on every run
(measured: two runs on the same corpus, two hashes), BPE the same bytes every time.
Language tags follow mBART-50 (``en_XX``) and are special tokens: never split, never masked.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from mtbridge.io import atomic_directory

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
SEQ2SEQ_ARCHITECTURES = ("mbart",)


def language_tag(language: str) -> str:
    """mBART-50-style language tag for a language code (``en`` -> ``en_XX``)."""
    return f"{language}_XX"


def read_training_text(corpus_paths: Sequence[str | os.PathLike], per_language: int) -> list[str]:
    """The first ``per_language`` texts of each corpus, in corpus order (deterministic)."""
    texts: list[str] = []
    for path in corpus_paths:
        column = pq.read_table(path, columns=["text"]).column("text").to_pylist()
        texts.extend(column[:per_language])
    return texts


def train_tokenizer(texts: Sequence[str], languages: Sequence[str], vocab_size: int) -> Tokenizer:
    """Train a BPE model; a small vocabulary makes cognates share pieces."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    specials = [*SPECIAL_TOKENS, *(language_tag(code) for code in languages)]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tokenizer


def save_tokenizer(tokenizer: Tokenizer, languages: Sequence[str], directory: str | os.PathLike) -> None:
    """Save as a transformers fast tokenizer directory, atomically."""
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>",
        extra_special_tokens=[language_tag(code) for code in languages],
    )
    with atomic_directory(directory) as tmp:
        fast.save_pretrained(tmp)


def build_tokenizer(corpus_paths: Sequence[str | os.PathLike], languages: Sequence[str],
                    vocab_size: int, per_language: int, directory: str | os.PathLike) -> None:
    """Train on the monolingual corpora of ``languages`` and save to ``directory``."""
    texts = read_training_text(corpus_paths, per_language)
    save_tokenizer(train_tokenizer(texts, languages, vocab_size), languages, directory)


def load_tokenizer(directory: str | os.PathLike):
    """Load the saved tokenizer as a transformers fast tokenizer."""
    from transformers import AutoTokenizer

    if not (Path(directory) / "tokenizer.json").exists():
        raise FileNotFoundError(f"{directory}: no tokenizer.json; expected a saved tokenizer directory")
    return AutoTokenizer.from_pretrained(str(directory))


@dataclass(frozen=True)
class Framing:
    """Token ids that frame a sequence for one architecture.

    mBART-50 puts the language tag first and ``</s>`` last; XLM-R uses ``<s> … </s>``
    and ``</s></s>`` between the two texts of a pair.
    """

    bos: int
    eos: int
    pad: int
    mask: int
    seq2seq: bool
    language_ids: dict[str, int]

    def open(self, language: str) -> list[int]:
        return [self.language_ids[language] if self.seq2seq else self.bos]

    def separator(self) -> list[int]:
        return [self.eos] if self.seq2seq else [self.eos, self.eos]

    def frame(self, first: Sequence[int], language: str,
              second: Sequence[int] | None = None) -> tuple[list[int], list[bool]]:
        """Ids of ``[open] first [sep second] </s>`` and a mask marking the text pieces."""
        ids = self.open(language) + list(first)
        content = [False] + [True] * len(first)
        if second is not None:
            separator = self.separator()
            ids += separator + list(second)
            content += [False] * len(separator) + [True] * len(second)
        return ids + [self.eos], content + [False]


def framing(tokenizer, architecture: str, languages: Sequence[str]) -> Framing:
    """The framing for ``architecture`` with ids looked up in ``tokenizer``."""
    ids = {code: tokenizer.convert_tokens_to_ids(language_tag(code)) for code in languages}
    unknown = [code for code, value in ids.items() if value == tokenizer.unk_token_id]
    if unknown:
        raise ValueError(f"tokenizer has no language tag for {unknown}; retrain it with these languages")
    return Framing(
        bos=tokenizer.bos_token_id, eos=tokenizer.eos_token_id, pad=tokenizer.pad_token_id,
        mask=tokenizer.mask_token_id, seq2seq=architecture in SEQ2SEQ_ARCHITECTURES,
        language_ids=ids,
    )


def encode_texts(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Piece ids of each text, without special tokens."""
    if not texts:
        return []
    return tokenizer(list(texts), add_special_tokens=False)["input_ids"]


def encode_words(tokenizer, sentences: Sequence[Sequence[str]]) -> list[list[list[int]]]:
    """Piece ids of every word of every sentence (Metaspace makes this equal to encoding the text)."""
    flat = [word for words in sentences for word in words]
    pieces = encode_texts(tokenizer, flat)
    out, start = [], 0
    for words in sentences:
        out.append(pieces[start:start + len(words)])
        start += len(words)
    return out
