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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from mtbridge.io import atomic_directory

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
LANGUAGE_TAGGED = ("mbart", "nllb")  # architectures whose input starts with a language code
LANGUAGE_CODE = re.compile(r"^[a-z]+_[A-Za-z]+$")
# NLLB/FLORES-200 codes (ISO 639-3 + script) of the XGLUE and OPUS-100 languages used here; an
# mBART-50 code is found by its ISO 639-1 prefix (de -> de_DE), so it needs no table.
NLLB_CODES = {
    "ar": "arb_Arab", "bg": "bul_Cyrl", "de": "deu_Latn", "el": "ell_Grek", "en": "eng_Latn",
    "es": "spa_Latn", "fr": "fra_Latn", "hi": "hin_Deva", "it": "ita_Latn", "nl": "nld_Latn",
    "pl": "pol_Latn", "pt": "por_Latn", "ru": "rus_Cyrl", "sw": "swh_Latn", "th": "tha_Thai",
    "tr": "tur_Latn", "ur": "urd_Arab", "vi": "vie_Latn", "zh": "zho_Hans", "ja": "jpn_Jpan",
    "ko": "kor_Hang", "cs": "ces_Latn", "fi": "fin_Latn", "et": "est_Latn",
}


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
        cls_token="<s>", sep_token="</s>",
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

    mBART-50 and NLLB put the language code first and ``</s>`` last; XLM-R uses ``<s> … </s>``
    and ``</s></s>`` between the two texts of a pair; mBERT ``[CLS] … [SEP]`` and one ``[SEP]``.
    """

    bos: int
    eos: int
    pad: int
    mask: int
    seq2seq: bool
    language_ids: dict[str, int]
    double_separator: bool = False

    def open(self, language: str) -> list[int]:
        return [self.language_ids[language] if self.seq2seq else self.bos]

    def separator(self) -> list[int]:
        return [self.eos, self.eos] if self.double_separator else [self.eos]

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


def language_codes(tokenizer) -> list[str]:
    """The language codes a tokenizer knows: special tokens shaped like ``de_DE`` or ``deu_Latn``."""
    return sorted(token for token in tokenizer.all_special_tokens if LANGUAGE_CODE.match(token))


def language_code(language: str, codes: Sequence[str], fallback: Mapping[str, str] | None = None) -> str:
    """The tokenizer's code for ``language``: its NLLB code if present, else the one code whose part
    before ``_`` is the language; a language with neither uses ``fallback[language]``'s code."""
    if NLLB_CODES.get(language) in codes:
        return NLLB_CODES[language]
    matches = [code for code in codes if code.split("_")[0] == language]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ValueError(f"language {language!r}: several tokenizer codes {matches}; ambiguous")
    if fallback and language in fallback:
        return language_code(fallback[language], codes)
    raise ValueError(f"language {language!r} has no code in this tokenizer and no language_fallback; "
                     f"add `{language}: <language whose code to use>` to the model's language_fallback "
                     f"(codes: {', '.join(codes[:60])})")


def framing(tokenizer, architecture: str, languages: Sequence[str],
            fallback: Mapping[str, str] | None = None) -> Framing:
    """The framing for ``architecture`` with ids looked up in ``tokenizer``."""
    tagged = architecture in LANGUAGE_TAGGED
    ids = {}
    if tagged:
        codes = language_codes(tokenizer)
        ids = {language: tokenizer.convert_tokens_to_ids(language_code(language, codes, fallback))
               for language in languages}
    return Framing(
        bos=tokenizer.cls_token_id, eos=tokenizer.sep_token_id, pad=tokenizer.pad_token_id,
        mask=tokenizer.mask_token_id, seq2seq=tagged, language_ids=ids,
        double_separator=architecture == "xlm-roberta",
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
