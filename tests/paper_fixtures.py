"""Stand-ins for the paper study's external artifacts, written offline into a temp folder.

- tiny random-weight checkpoints of each family with the real tokenizer classes (mBART-50's, XLM-R's,
  mBERT's, NLLB's), their vocabularies built from the fixture text so nothing maps to ``<unk>``;
- an OPUS-100-layout parallel dataset (``<a-b>/<split>-*.parquet``, a ``translation`` struct column);
- a FLORES+-layout evaluation set (``<split>/<code>.parquet``: id, iso_639_3, iso_15924, text);
- a Hugging Face cache entry (``hub/<type>s--org--name/{blobs,snapshots/<commit>,refs/main}``) so a
  ``{id, revision}`` reference resolves offline through the real ``snapshot_download``;
- the official XGLUE release as a tarball, from tests/test_xglue.py's writers, for any languages.

``write_standins`` writes them all once for the paper tests (the session fixture ``standins`` in
tests/conftest.py); the helpers at the end are shared by tests/test_hub_fetch.py, test_language_codes.py,
test_paper_config.py, test_paper_dag.py and test_paper_run.py.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from snakemake_runner import ROOT, snakemake
from test_xglue import FOLDERS, release_name, release_text, samples, tarball_of, write_hub
from tokenizers import pre_tokenizers

from mtbridge.aliases import PathLike
from mtbridge.tokenizer import NLLB_CODES
from mtbridge.xglue import XGLUE_LANGUAGES, XGLUE_TASKS, release_checksum

# study languages of the fixtures: en (train), de, and bg, which mBART-50 has no code for
LANGUAGES = ("en", "de", "bg")
SPLITS = ("train", "dev", "test")
# the same sentences in each language: FLORES rows and the parallel corpora
SENTENCES = {
    "en": ["The cat sleeps on the sofa.", "Peter visits Berlin in May.", "A man plays a guitar.",
           "The weather in Rome is sunny.", "She reads three books.", "We cook pasta with tomatoes."],
    "de": ["Die Katze schläft auf dem Sofa.", "Peter besucht Berlin im Mai.", "Ein Mann spielt Gitarre.",
           "Das Wetter in Rom ist sonnig.", "Sie liest drei Bücher.", "Wir kochen Nudeln mit Tomaten."],
    "bg": ["Котката спи на дивана.", "Петър посещава Берлин през май.", "Мъж свири на китара.",
           "Времето в Рим е слънчево.", "Тя чете три книги.", "Ние готвим паста с домати."],
}
ARCHITECTURES = ("mbart", "xlm-roberta", "bert", "nllb")
WIDTH, LAYERS, HEADS, FFN, POSITIONS = 16, 1, 2, 32, 64
SPM_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
SPACE = "▁"  # SentencePiece's word-start marker


# --- text -------------------------------------------------------------------------------------


def xglue_texts(languages: Sequence[str] = LANGUAGES) -> list[str]:
    """Every text and token of test_xglue's sample rows, for every task, split and language."""
    texts: list[str] = []
    for task in XGLUE_TASKS:
        for split in SPLITS:
            for language in languages:
                for row in samples(task, split, language):
                    texts += [" ".join(row[0])] if task in ("ner", "pos") else list(row[:-1])
    return texts


def fixture_texts() -> list[str]:
    """All text a stand-in model is fed here: XGLUE samples and the parallel/FLORES sentences."""
    return xglue_texts() + [sentence for sentences in SENTENCES.values() for sentence in sentences]


def words_of(texts: Iterable[str]) -> list[str]:
    """Whitespace-separated words, sorted (SentencePiece-style tokenizers split at spaces only)."""
    return sorted({word for text in texts for word in text.split()})


def bert_words_of(texts: Iterable[str]) -> list[str]:
    """Words as BERT's pre-tokenizer cuts them (punctuation apart), sorted."""
    cutter = pre_tokenizers.BertPreTokenizer()
    return sorted({word for text in texts for word, _ in cutter.pre_tokenize_str(text)})


def characters_of(words: Iterable[str]) -> list[str]:
    return sorted({character for word in words for character in word})


# --- tokenizers and checkpoints -----------------------------------------------------------------


def unigram_vocab(texts: Sequence[str]) -> list[tuple[str, float]]:
    """A SentencePiece-Unigram vocabulary: whole words (cheap) and single characters (fallback)."""
    words = words_of(texts)
    pieces = [(special, 0.0) for special in SPM_SPECIALS] + [(SPACE, -5.0)]
    pieces += [(SPACE + word, -2.0) for word in words]
    pieces += [(character, -10.0) for character in characters_of(words)]
    return pieces


def build_tokenizer(architecture: str, texts: Sequence[str]):
    """The real transformers tokenizer class of ``architecture`` over a vocabulary of ``texts``."""
    from transformers import BertTokenizer, MBart50Tokenizer, NllbTokenizer, XLMRobertaTokenizer

    if architecture == "mbart":
        return MBart50Tokenizer(vocab=unigram_vocab(texts), src_lang="en_XX")
    if architecture == "xlm-roberta":
        return XLMRobertaTokenizer(vocab=unigram_vocab(texts))
    if architecture == "bert":
        words = bert_words_of(texts)
        characters = characters_of(words)
        tokens = [*BERT_SPECIALS, *words, *characters, *(f"##{c}" for c in characters)]
        return BertTokenizer(vocab={token: index for index, token in enumerate(dict.fromkeys(tokens))},
                             do_lower_case=False)
    if architecture == "nllb":
        # byte-pair merges that rebuild every word from its characters, left to right
        words = [SPACE + word for word in words_of(texts)]
        tokens = [*SPM_SPECIALS, SPACE, *characters_of(words)]
        merges = []
        for word in words:
            for end in range(2, len(word) + 1):
                merges.append((word[:end - 1], word[end - 1]))
                tokens.append(word[:end])
        vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
        return NllbTokenizer(vocab=vocab, merges=list(dict.fromkeys(merges)))
    raise ValueError(f"no stand-in for architecture {architecture!r}")


def build_model(architecture: str, tokenizer, seed: int = 0) -> torch.nn.Module:
    """A width-16, one-layer random-weight model of the family's real pretraining class."""
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        M2M100Config,
        M2M100ForConditionalGeneration,
        MBartConfig,
        MBartForConditionalGeneration,
        XLMRobertaConfig,
        XLMRobertaForMaskedLM,
    )

    torch.manual_seed(seed)
    special = dict(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id)
    seq2seq = dict(d_model=WIDTH, encoder_layers=LAYERS, decoder_layers=LAYERS,
                   encoder_attention_heads=HEADS, decoder_attention_heads=HEADS, encoder_ffn_dim=FFN,
                   decoder_ffn_dim=FFN, max_position_embeddings=POSITIONS,
                   bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                   decoder_start_token_id=tokenizer.eos_token_id, **special)
    encoder = dict(hidden_size=WIDTH, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                   intermediate_size=FFN, **special)
    if architecture == "mbart":
        return MBartForConditionalGeneration(MBartConfig(**seq2seq))
    if architecture == "nllb":
        return M2M100ForConditionalGeneration(M2M100Config(**seq2seq))
    if architecture == "xlm-roberta":
        config = XLMRobertaConfig(max_position_embeddings=POSITIONS + tokenizer.pad_token_id + 1,
                                  type_vocab_size=1, bos_token_id=tokenizer.bos_token_id,
                                  eos_token_id=tokenizer.eos_token_id, **encoder)
        return XLMRobertaForMaskedLM(config)
    if architecture == "bert":
        return BertForMaskedLM(BertConfig(max_position_embeddings=POSITIONS, **encoder))
    raise ValueError(f"no stand-in for architecture {architecture!r}")


def write_checkpoint(architecture: str, directory: PathLike, seed: int = 0,
                     texts: Sequence[str] | None = None) -> Path:
    """A hub-like checkpoint folder: config, safetensors weights and the tokenizer files."""
    directory = Path(directory)
    tokenizer = build_tokenizer(architecture, texts if texts is not None else fixture_texts())
    build_model(architecture, tokenizer, seed).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


# --- datasets ---------------------------------------------------------------------------------


def write_opus(root: PathLike, languages: Sequence[str], split: str = "train",
               pivot: str = "en") -> Path:
    """OPUS-100's layout: ``<a-b>/<split>-00000-of-00001.parquet``, rows ``translation: {a, b}``;
    each pair's last row has an empty side (the reader drops it)."""
    root = Path(root)
    for language in languages:
        first, second = sorted((pivot, language))
        rows = [{first: a if first == pivot else b, second: b if first == pivot else a}
                for a, b in zip(SENTENCES[pivot], SENTENCES[language], strict=True)]
        rows.append({pivot: "An orphan sentence.", language: ""})
        table = pa.table({"translation": pa.array(rows, pa.struct([(first, pa.string()),
                                                                  (second, pa.string())]))})
        path = root / f"{first}-{second}" / f"{split}-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
    return root


def write_flores(root: PathLike, languages: Sequence[str], split: str = "devtest") -> Path:
    """FLORES+'s layout: ``<split>/<code>.parquet`` with FLORES+'s leading columns, ids shared."""
    root = Path(root)
    (root / split).mkdir(parents=True, exist_ok=True)
    for language in languages:
        code = NLLB_CODES[language]
        texts = SENTENCES[language]
        pq.write_table(pa.table({
            "id": pa.array(range(len(texts)), pa.int64()),
            "iso_639_3": [code.split("_")[0]] * len(texts),
            "iso_15924": [code.split("_")[1]] * len(texts),
            "text": texts,
        }), root / split / f"{code}.parquet")
    return root


def write_xglue_release(root: PathLike, languages: Sequence[str] = LANGUAGES) -> tuple[Path, str]:
    """The official release as a tarball (test_xglue's format), with the dev and test splits of every
    language in ``languages`` that each task has; returns the tarball and its sha256."""
    root = Path(root)
    base = root / "release" / "xglue_full_dataset"
    for task in XGLUE_TASKS:
        present = [language for language in languages if language in XGLUE_LANGUAGES[task]]
        for split, language in [("train", "en")] + [(s, lang) for lang in present for s in ("dev", "test")]:
            path = base / FOLDERS[task] / release_name(task, split, language)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(release_text(task, split, language), encoding="utf-8")
    tarball = tarball_of(root / "release", root / "xglue_full_dataset.tar.gz")
    return tarball, release_checksum(tarball)


# --- the Hugging Face cache -------------------------------------------------------------------


def cache_folder(hf_home: PathLike, repo_id: str, repo_type: str = "model") -> Path:
    """Where huggingface_hub keeps a repository under ``$HF_HOME/hub``."""
    return Path(hf_home) / "hub" / f"{repo_type}s--{repo_id.replace('/', '--')}"


def cache_repository(hf_home: PathLike, repo_id: str, source: PathLike,
                     repo_type: str = "model", branch: str = "main") -> str:
    """Put the files of ``source`` into the cache as one commit, the way ``snapshot_download`` leaves
    them (content-addressed blobs, snapshot symlinks, ``refs/<branch>``); returns the commit id."""
    source = Path(source)
    files = sorted(path for path in source.rglob("*") if path.is_file())
    listing = hashlib.sha1()
    for path in files:
        listing.update(f"{path.relative_to(source).as_posix()}\0".encode() + path.read_bytes())
    commit = listing.hexdigest()
    storage = cache_folder(hf_home, repo_id, repo_type)
    for path in files:
        content = path.read_bytes()
        blob = storage / "blobs" / hashlib.sha256(content).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(content)
        link = storage / "snapshots" / commit / path.relative_to(source)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    ref = storage / "refs" / branch  # a branch may hold slashes (refs/convert/parquet)
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(commit)
    return commit


# --- the paper tests' stand-ins and helpers ----------------------------------------------------

PAPER = ROOT / "configs" / "paper.yaml"
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
KEY = "models.family.hub.source"
PARALLEL_ID, FLORES_ID = "fixture/opus-100", "fixture/flores_plus"
MMT_ID = "fixture/mbart-mmt-standin"  # another mBART stand-in (other weights, same tokenizer)
XGLUE_ID, XGLUE_REVISION = "fixture/xglue", "refs/convert/parquet"  # as configs/paper.yaml pins it


def repo_id(architecture: str) -> str:
    return f"fixture/{architecture}-standin"


@dataclass(frozen=True)
class StandIns:
    """Where the stand-ins are: checkpoint folders, the fake HF_HOME and the commits cached there."""

    root: Path
    hf_home: Path
    checkpoints: dict[str, Path]
    commits: dict[str, str]  # repository id -> commit


def write_standins(root: Path) -> StandIns:
    """A checkpoint of each family (and an MMT one), OPUS, FLORES+ and XGLUE's hub copy, all cached."""
    hf_home = root / "hf_home"
    checkpoints = {architecture: write_checkpoint(architecture, root / "models" / architecture, seed=index)
                   for index, architecture in enumerate(ARCHITECTURES)}
    commits = {repo_id(architecture): cache_repository(hf_home, repo_id(architecture), folder)
               for architecture, folder in checkpoints.items()}
    mmt = write_checkpoint("mbart", root / "models" / "mmt", seed=7)
    commits[MMT_ID] = cache_repository(hf_home, MMT_ID, mmt)
    commits[PARALLEL_ID] = cache_repository(hf_home, PARALLEL_ID, write_opus(root / "opus", ["de", "bg"]),
                                            repo_type="dataset")
    commits[FLORES_ID] = cache_repository(hf_home, FLORES_ID, write_flores(root / "flores", LANGUAGES),
                                          repo_type="dataset")
    commits[XGLUE_ID] = cache_repository(hf_home, XGLUE_ID, write_hub(root / "xglue_hub"),
                                         repo_type="dataset", branch=XGLUE_REVISION)
    return StandIns(root, hf_home, checkpoints, commits)


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    return message


def change(path: str, value: object = None, delete: bool = False) -> Callable[[dict], None]:
    """A function that sets (or deletes) the dotted key ``path`` of a raw config."""
    def apply(config: dict) -> None:
        *parents, last = path.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        if delete:
            del node[last]
        else:
            node[last] = value
    return apply


def no_network_environment(hf_home: Path) -> dict[str, str]:
    """Offline, an empty cache, and the hub and every proxy pointed at a closed local port."""
    closed = "http://127.0.0.1:9"
    return {**os.environ, **OFFLINE, "HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hf_home / "hub"),
            "HF_ENDPOINT": closed, "HTTP_PROXY": closed, "HTTPS_PROXY": closed, "http_proxy": closed,
            "https_proxy": closed, "PYTHONWARNINGS": "ignore"}


def study_snakemake(workdir: Path, configfile: Path, *arguments: str, environment: dict[str, str],
                    timeout: int = 900) -> subprocess.CompletedProcess:
    """The workflow copied into WORKDIR on CONFIGFILE (``-s WORKDIR/Snakefile --configfile CONFIGFILE``)."""
    return snakemake(workdir, "--configfile", str(configfile), *arguments, snakefile=workdir / "Snakefile",
                     env=environment, timeout=timeout)
