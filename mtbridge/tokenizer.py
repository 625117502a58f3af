"""A shared subword vocabulary trained locally, framed the way mBART-50 and XLM-R frame input.

The tokenizer is trained with the `tokenizers` library (BPE over Metaspace pieces,
as SentencePiece-BPE does) and saved as a transformers fast tokenizer, so the same
directory loads with ``AutoTokenizer.from_pretrained``. BPE rather than Unigram:
the `tokenizers` Unigram trainer gives a different vocabulary on every run
(measured: two runs on the same corpus, two hashes), BPE the same bytes every time.
Language tags follow mBART-50 (``en_XX``) and are special tokens: never split, never masked.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from mtbridge.aliases import PathLike
from mtbridge.io import atomic_directory

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
LANGUAGE_TAGGED = ("mbart", "nllb")  # architectures whose input starts with a language code
LANGUAGE_CODE = re.compile(r"^[a-z]+_[A-Za-z]+$")
# hub tokenizers shipped as a SentencePiece model only (XLM-R, mBART-50, NLLB), and what converting needs
SENTENCEPIECE_FILES = ("sentencepiece.bpe.model", "sentencepiece.model", "spiece.model")
CONVERSION_PACKAGES = {"sentencepiece": "sentencepiece", "protobuf": "google.protobuf"}
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


def read_training_text(corpus_paths: Sequence[PathLike], per_language: int) -> list[str]:
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


def save_tokenizer(tokenizer: Tokenizer, languages: Sequence[str], directory: PathLike) -> None:
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


def build_tokenizer(corpus_paths: Sequence[PathLike], languages: Sequence[str],
                    vocab_size: int, per_language: int, directory: PathLike) -> None:
    """Train on the monolingual corpora of ``languages`` and save to ``directory``."""
    texts = read_training_text(corpus_paths, per_language)
    save_tokenizer(train_tokenizer(texts, languages, vocab_size), languages, directory)


def load_tokenizer(directory: PathLike, trust_remote_code: bool = False):
    """Load a tokenizer folder as a transformers fast tokenizer: from its ``tokenizer.json``, or, for a
    hub folder that ships only a SentencePiece model (``sentencepiece.bpe.model``), converted from it
    and checked (``check_sentencepiece_layout``); saving it then writes the ``tokenizer.json``."""
    from transformers import AutoTokenizer

    directory = Path(directory)
    load = functools.partial(AutoTokenizer.from_pretrained, str(directory),
                             trust_remote_code=trust_remote_code)
    if (directory / "tokenizer.json").exists():
        return load()
    model = next((directory / name for name in SENTENCEPIECE_FILES if (directory / name).exists()), None)
    if model is None:
        raise FileNotFoundError(f"{directory}: no tokenizer.json and no SentencePiece model "
                                f"({', '.join(SENTENCEPIECE_FILES)}); expected a saved tokenizer directory")
    missing = [name for name, module in CONVERSION_PACKAGES.items()
               if importlib.util.find_spec(module) is None]
    if missing:  # without them transformers tries a tiktoken reader and fails with an unrelated message
        raise ImportError(f"{directory}: converting {model.name} needs the packages {', '.join(missing)} "
                          f"(declared in pyproject.toml); install them")
    tokenizer = load()
    check_sentencepiece_layout(tokenizer, model)
    return tokenizer


def fairseq_language_codes(tokenizer) -> list[str]:
    """The language codes the tokenizer's class defines (mBART-50, NLLB), in their id order; [] if none."""
    return list(getattr(sys.modules[type(tokenizer).__module__], "FAIRSEQ_LANGUAGE_CODES", []))


def check_sentencepiece_layout(tokenizer, model: Path) -> None:
    """Fail unless a tokenizer converted from ``model`` has the ids of the fairseq checkpoints it
    belongs to: every piece at its SentencePiece id plus one fixed offset, then the class's language
    codes in order, then ``<mask>``. A shifted id would silently read another token's embedding
    (transformers 5 converts NLLB's model without its language codes, or with them after ``<mask>``)."""
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_file=str(model))
    pieces = [processor.id_to_piece(index) for index in range(processor.get_piece_size())
              if not processor.is_unknown(index) and not processor.is_control(index)]
    offset = tokenizer.convert_tokens_to_ids(pieces[0]) - processor.piece_to_id(pieces[0])
    shifted = [piece for piece in pieces
               if tokenizer.convert_tokens_to_ids(piece) != processor.piece_to_id(piece) + offset]
    after = [*fairseq_language_codes(tokenizer), tokenizer.mask_token]
    first = processor.get_piece_size() + offset
    expected = list(range(first, first + len(after)))
    if shifted or tokenizer.convert_tokens_to_ids(after) != expected:
        raise ValueError(f"{model}: converted by transformers, the tokenizer's ids differ from the "
                         f"checkpoint's SentencePiece layout ({len(shifted)} pieces moved; language codes "
                         f"and <mask> expected at ids {expected[0]}-{expected[-1]}); use the repository's "
                         f"tokenizer.json instead")


@dataclass(frozen=True)
class Framing:
    """Token ids that frame a sequence for one architecture, as the family's own tokenizer does for
    ``tokenizer(text, text_pair)`` (fine-tuning must see what the model was trained on).

    mBART-50 and NLLB put the language code first and ``</s>`` last, and a pair's texts follow each
    other with nothing between (``[code] a b </s>``); XLM-R uses ``<s> a </s></s> b </s>``; mBERT
    ``[CLS] a [SEP] b [SEP]`` with segment ids 0 up to the first ``[SEP]`` and 1 after it.
    """

    bos: int
    eos: int
    pad: int
    mask: int
    seq2seq: bool
    language_ids: dict[str, int]
    double_separator: bool = False
    segments: bool = False  # whether the model reads segment ids (token_type_ids): mBERT

    def open(self, language: str) -> list[int]:
        return [self.language_ids[language] if self.seq2seq else self.bos]

    def separator(self) -> list[int]:
        """The ids between a pair's two texts: none for mBART-50/NLLB, ``</s></s>`` (XLM-R), ``[SEP]``."""
        if self.seq2seq:
            return []
        return [self.eos, self.eos] if self.double_separator else [self.eos]

    def segment_ids(self, first: int, second: int | None = None) -> list[int] | None:
        """Segment ids of a framed text of ``first`` (and ``second``) pieces; None for a model without
        segment embeddings, which must not be given any."""
        if not self.segments:
            return None
        head = [0] * (1 + first + 1)  # [CLS] first [SEP]
        return head if second is None else head + [1] * (second + 1)

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
        double_separator=architecture == "xlm-roberta", segments=architecture == "bert",
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
