"""XGLUE's eight understanding tasks (all but MLQA) as the project's Parquet task splits.

The rows come from either of two sources that hold the same data: the official release
(``xglue_full_dataset.tar.gz``, installed here after a checksum) or a local snapshot of the
Hugging Face hub's Parquet conversion of ``microsoft/xglue``. Both readers yield identical rows
(ids included), so either source can stand in for, or check, the other.

Where each fact below comes from (read, not guessed):

- Release layout, file names and columns: the hub loading script ``datasets/xglue/xglue.py``
  (huggingface/datasets, commit b3fb0688; the script of the hub repo ``microsoft/xglue``), which
  reads ``xglue_full_dataset/<FOLDER>/...`` from the tarball, and microsoft/XGLUE
  ``Data_Format.txt``. NER and POS: ``en.train``, ``<lang>.dev``, ``<lang>.test``, one
  ``word label`` per line (space-separated), a blank line between sentences. NC, QADSM, WPR,
  QAM: ``xglue.<task>.en.train``, ``xglue.<task>.<lang>.dev|test``, tab-separated, no header:
  NC title, body, category; QADSM query, ad title, ad description, Good/Bad; WPR query, page
  title, snippet, grade 0-4; QAM question, passage, 0/1 (``Data_Format.txt`` lists an extra
  leading query column for NC; the script and the hub's rows show none). XNLI:
  ``multinli.train.en.tsv`` (a header line; premise, hypothesis, label with ``contradictory``
  for contradiction), ``<lang>.dev|test`` (premise, hypothesis, label, no header). PAWS-X:
  ``en/train.tsv``, ``<lang>/dev_2k.tsv``, ``<lang>/test_2k.tsv``: a header line, then id,
  sentence1, sentence2, 0/1. Training data exists in English only.
- Test labels: ``Data_Format.txt`` (first release) lists test files without a label column; the
  full dataset that the script reads, and the ground truth of microsoft/XGLUE
  ``evaluation/xglue_evaluate.py``, carry it last. A label-less file fails here on its column count.
- ``-DOCSTART-`` lines: ``xglue_evaluate.py`` skips them in NER/POS files, so both readers drop them.
- Hub features and ClassLabel name lists (the conversion stores the index): ``xglue.py``
  ``_info`` and the dataset card; split names ``train``, ``validation.<lang>``, ``test.<lang>``.
  WPR's names Bad..Perfect are grades 0..4 (``Data_Format.txt``: perfect 4 ... bad 0); labels
  here are the names, except WPR's, which are the grades as strings so that nDCG can use them.
- Languages: ``_LANGUAGES`` in ``xglue.py``; POS also has ``pt`` in the XGLUE paper and in
  ``xglue_evaluate.py``'s ``task2lg`` (18 languages), but the hub has no POS ``pt`` split.
- Row texts: QADSM and WPR join title and description/snippet with a space, as Unicoder's
  XGLUE processors (microsoft/Unicoder ``processors/xglue.py``) build ``text_b``.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

import pyarrow.parquet as pq

from mtbridge import hub
from mtbridge.aliases import PathLike
from mtbridge.io import atomic_directory, write_parquet
from mtbridge.tasks import TaskSpec, schema_for

XGLUE_TASKS: tuple[str, ...] = ("ner", "pos", "nc", "xnli", "pawsx", "qadsm", "wpr", "qam")
SPLITS = ("train", "dev", "test")
SOURCES = ("release", "hub")
TRAIN_LANGUAGE = "en"

XGLUE_LANGUAGES: dict[str, tuple[str, ...]] = {
    "ner": ("en", "de", "es", "nl"),
    "pos": ("en", "ar", "bg", "de", "el", "es", "fr", "hi", "it", "nl", "pl", "pt", "ru", "th", "tr",
            "ur", "vi", "zh"),
    "nc": ("en", "de", "es", "fr", "ru"),
    "xnli": ("en", "ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"),
    "pawsx": ("en", "de", "es", "fr"),
    "qadsm": ("en", "de", "fr"),
    "wpr": ("en", "de", "es", "fr", "it", "pt", "zh"),
    "qam": ("en", "de", "fr"),
}
HUB_CONFIGS: dict[str, str] = {task: task for task in XGLUE_TASKS} | {"pawsx": "paws-x"}
HUB_MISSING: dict[str, tuple[str, ...]] = {"pos": ("pt",)}  # in the release, not in the hub's copy

# Label names in the hub's ClassLabel order, so a stored index i is labels[i].
_LABELS = {
    "ner": ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"),
    "pos": ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
            "PUNCT", "SCONJ", "SYM", "VERB", "X"),
    "nc": ("foodanddrink", "sports", "travel", "finance", "lifestyle", "news", "entertainment", "health",
           "video", "autos"),
    "xnli": ("entailment", "neutral", "contradiction"),
    "pawsx": ("different", "same"),
    "qadsm": ("Bad", "Good"),
    "wpr": ("0", "1", "2", "3", "4"),
    "qam": ("False", "True"),
}
_METRICS = {"ner": "entity_f1", "wpr": "ndcg"}
_TAGGING = ("ner", "pos")

# The release's spellings that differ from the label names (the loading script's _process_dict).
_RELEASE_SPELLINGS = {
    "xnli": {"contradictory": "contradiction"},
    "pawsx": {"0": "different", "1": "same"},
    "qam": {"0": "False", "1": "True"},
}
# Label names as the hub stores them where they differ from ours (an index maps either way).
_HUB_NAMES = {"wpr": ("Bad", "Fair", "Good", "Excellent", "Perfect")}

_RELEASE_FOLDERS = {"ner": "NER", "pos": "POS", "nc": "NC", "xnli": "XNLI", "pawsx": "PAWSX",
                    "qadsm": "QADSM", "wpr": "WPR", "qam": "QAM"}
_RELEASE_FILES = {task: {"train": "{}.train", "dev": "{}.dev", "test": "{}.test"} for task in _TAGGING}
_RELEASE_FILES |= {task: {split: f"xglue.{task}.{{}}.{split}" for split in SPLITS}
                   for task in ("nc", "qadsm", "wpr", "qam")}
_RELEASE_FILES["xnli"] = {"train": "multinli.train.{}.tsv", "dev": "{}.dev", "test": "{}.test"}
_RELEASE_FILES["pawsx"] = {"train": "{}/train.tsv", "dev": "{}/dev_2k.tsv", "test": "{}/test_2k.tsv"}
_RELEASE_ID_COLUMNS = {"pawsx": 1}  # leading columns that are not text (PAWS-X's id)

# Hub columns: the text fields in release column order, then the label (tagging: tokens, tags).
_HUB_FIELDS = {
    "ner": ("words", "ner"),
    "pos": ("words", "pos"),
    "nc": ("news_title", "news_body", "news_category"),
    "xnli": ("premise", "hypothesis", "label"),
    "pawsx": ("sentence1", "sentence2", "label"),
    "qadsm": ("query", "ad_title", "ad_description", "relevance_label"),
    "wpr": ("query", "web_page_title", "web_page_snippet", "relavance_label"),
    "qam": ("question", "answer", "label"),
}
_HUB_ALIASES = {"web_page_title": "wed_page_title", "answer": "annswer"}  # older script's spellings
_DOCSTART = "-DOCSTART-"


def xglue_task_spec(task: str) -> TaskSpec:
    """The spec of XGLUE task ``task``: labels in the hub's ClassLabel order (WPR: grades 0-4)."""
    if task not in XGLUE_TASKS:
        raise ValueError(f"unknown XGLUE task {task!r} (known: {', '.join(XGLUE_TASKS)})")
    kind = "tagging" if task in _TAGGING else "classification"
    return TaskSpec(task, kind, _METRICS.get(task, "accuracy"), _LABELS[task])


def _check_split(task: str, split: str, language: str) -> None:
    xglue_task_spec(task)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
    if language not in XGLUE_LANGUAGES[task]:
        raise ValueError(f"{task} has no language {language!r} (XGLUE's: {', '.join(XGLUE_LANGUAGES[task])})")
    if split == "train" and language != TRAIN_LANGUAGE:
        raise ValueError(f"XGLUE has training data in {TRAIN_LANGUAGE!r} only, not {language!r}")


def _row_id(task: str, split: str, language: str, index: int) -> str:
    # Row positions, not PAWS-X's own ids: the hub conversion drops those, and both sources must agree.
    return f"{task}-{split}-{language}-{index}"


def _unknown_label(where: str, task: str, label: object) -> ValueError:
    return ValueError(f"{where}: unknown {task} label {label!r} (known: {', '.join(_LABELS[task])})")


# --- installing the release -------------------------------------------------------------------


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _folder_files(folder: Path) -> Iterator[tuple[str, Path]]:
    for path in folder.rglob("*"):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink() or not (path.is_file() or path.is_dir()) or "\n" in relative:
            raise ValueError(f"{path}: a release folder holds only regular files and folders "
                             "(no links, devices or names with newlines)")
        if path.is_file():
            yield relative, path


def release_checksum(path: PathLike) -> str:
    """The sha256 that pins a release: of the file for a tarball, of its file listing for a folder.

    A folder's checksum is the sha256 of the lines ``<file sha256>  <relative path>\\n``, sorted by
    path (``sha256sum``'s format), so it changes when any file's content, name or presence does,
    and not with timestamps, permissions or empty folders. In a shell, inside the folder:
    ``find . -type f | sed 's|^\\./||' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum``.
    """
    path = Path(path)
    if path.is_file():
        return _file_sha256(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such release tarball or folder")
    listing = sorted(_folder_files(path))
    lines = "".join(f"{_file_sha256(file)}  {relative}\n" for relative, file in listing)
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def _check_member(tarball: Path, member: tarfile.TarInfo) -> None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts:
        raise ValueError(f"{tarball}: refusing member {member.name!r}: absolute or '..' path")
    if not (member.isfile() or member.isdir()):
        raise ValueError(f"{tarball}: refusing member {member.name!r}: not a regular file or folder "
                         "(links and devices are not extracted)")


def install_release(source: PathLike, sha256: str, destination: PathLike) -> None:
    """Check ``source`` (tarball or folder) against ``sha256``, then extract or copy it to ``destination``.

    The checksum is verified before anything is written, and the tarball's members before
    extraction, so a wrong or hostile release leaves nothing behind; the destination appears
    whole or not at all.
    """
    source = Path(source)
    found = release_checksum(source)
    if found != sha256.strip().lower():
        raise ValueError(f"{source}: sha256 mismatch: expected {sha256}, found {found}")
    if source.is_dir():
        with atomic_directory(destination) as tmp:
            shutil.copytree(source, tmp, dirs_exist_ok=True)
        return
    try:
        with tarfile.open(source) as archive:
            members = archive.getmembers()
            for member in members:
                _check_member(source, member)
            with atomic_directory(destination) as tmp:
                archive.extractall(tmp, members=members, filter="data")
    except tarfile.TarError as error:
        raise ValueError(f"{source}: not a tarball that can be extracted safely ({error})") from None


# --- the release ------------------------------------------------------------------------------


def _release_file(root: PathLike, task: str, split: str, language: str) -> Path:
    folder = Path(root)
    if (folder / "xglue_full_dataset").is_dir():  # an installed tarball; a copied folder may be either
        folder = folder / "xglue_full_dataset"
    path = folder / _RELEASE_FOLDERS[task] / _RELEASE_FILES[task][split].format(language)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file in the XGLUE release at {root} "
                                f"({task} {split} {language})")
    return path


def _release_label(path: Path, number: int, task: str, raw: str) -> str:
    label = _RELEASE_SPELLINGS.get(task, {}).get(raw, raw)
    if label not in _LABELS[task]:
        raise _unknown_label(f"{path}:{number}", task, raw)
    return label


def _conll_sentences(path: Path) -> Iterator[tuple[int, list[str], list[str]]]:
    """(first line number, tokens, tags) per sentence; blank and -DOCSTART- lines end a sentence."""
    tokens: list[str] = []
    tags: list[str] = []
    start = 0
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith(_DOCSTART):
                if tokens:
                    yield start, tokens, tags
                tokens, tags = [], []
                continue
            parts = stripped.rsplit(None, 1)
            if len(parts) != 2:
                raise ValueError(f"{path}:{number}: expected 'word label', found {stripped!r}")
            if not tokens:
                start = number
            tokens.append(parts[0])
            tags.append(parts[1])
    if tokens:
        yield start, tokens, tags


def _tsv_lines(path: Path, columns: int, header: bool) -> Iterator[tuple[int, list[str]]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if (header and number == 1) or not line.strip():
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != columns:
                raise ValueError(f"{path}:{number}: {len(fields)} tab-separated columns, expected {columns}")
            yield number, [field.strip() for field in fields]


def _release_rows(root: PathLike, task: str, split: str, language: str,
                  limit: int | None) -> Iterator[dict]:
    path = _release_file(root, task, split, language)
    if task in _TAGGING:
        for index, (number, tokens, raw_tags) in enumerate(_conll_sentences(path)):
            if index == limit:
                return
            tags = [_release_label(path, number + offset, task, tag) for offset, tag in enumerate(raw_tags)]
            yield {"id": _row_id(task, split, language, index), "language": language,
                   "tokens": tokens, "tags": tags}
        return
    skip = _RELEASE_ID_COLUMNS.get(task, 0)
    columns = skip + len(_HUB_FIELDS[task])
    header = path.suffix == ".tsv"  # as the loading script decides: only .tsv files have a header
    for index, (number, fields) in enumerate(_tsv_lines(path, columns, header)):
        if index == limit:
            return
        texts = fields[skip:-1]
        yield {"id": _row_id(task, split, language, index), "language": language,
               "text_a": texts[0], "text_b": " ".join(texts[1:]),
               "label": _release_label(path, number, task, fields[-1])}


def read_release_split(root: PathLike, task: str, split: str, language: str) -> list[dict]:
    """Rows of one split of an installed release (``split`` is train, dev or test)."""
    _check_split(task, split, language)
    return list(_release_rows(root, task, split, language, None))


# --- the hub's Parquet conversion ---------------------------------------------------------------


def _hub_split_name(split: str, language: str) -> str:
    return "train" if split == "train" else f"{'validation' if split == 'dev' else 'test'}.{language}"


def _locate(files: list[Path], index: int) -> str:
    """'file row n' for row ``index`` of the files read one after another (for error messages)."""
    for path in files:
        rows = pq.ParquetFile(path).metadata.num_rows
        if index < rows:
            return f"{path} row {index}"
        index -= rows
    return f"{files[-1]} row {index}"


def _hub_label(task: str, value: object, files: list[Path], position: int) -> str:
    """The label name of a stored ClassLabel index (or of a name, as older conversions stored)."""
    labels = _LABELS[task]
    names = _HUB_NAMES.get(task, labels)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(labels):
        return labels[value]
    if isinstance(value, str) and value in names:
        return labels[names.index(value)]
    if isinstance(value, str) and value in labels:
        return value
    raise _unknown_label(_locate(files, position), task, value)


def _hub_fields(task: str, columns: list[str], files: list[Path]) -> list[str]:
    fields = [name if name in columns or _HUB_ALIASES.get(name) not in columns else _HUB_ALIASES[name]
              for name in _HUB_FIELDS[task]]
    missing = [name for name in fields if name not in columns]
    if missing:
        raise ValueError(f"{files[0]}: missing column(s) {missing} for {task}; found {columns}")
    return fields


def _hub_rows(root: PathLike, task: str, split: str, language: str, limit: int | None) -> list[dict]:
    files = hub.parquet_files(root, HUB_CONFIGS[task], _hub_split_name(split, language))
    rows: list[dict] = []
    with hub.parquet_dataset(files) as dataset:
        fields = _hub_fields(task, dataset.column_names, files)
        for position, record in enumerate(dataset):
            if len(rows) == limit:
                break
            row = {"id": _row_id(task, split, language, len(rows)), "language": language}
            if task in _TAGGING:
                tokens = list(record[fields[0]])
                if tokens == [_DOCSTART]:
                    continue
                tags = [_hub_label(task, value, files, position) for value in record[fields[1]]]
                if len(tags) != len(tokens):
                    raise ValueError(f"{_locate(files, position)}: {len(tokens)} tokens but {len(tags)} tags")
                row |= {"tokens": tokens, "tags": tags}
            else:
                texts = [record[name] for name in fields[:-1]]
                row |= {"text_a": texts[0], "text_b": " ".join(texts[1:]),
                        "label": _hub_label(task, record[fields[-1]], files, position)}
            rows.append(row)
    return rows


def read_hub_split(root: PathLike, task: str, split: str, language: str) -> list[dict]:
    """Rows of one split from a local snapshot of the hub's Parquet files (ClassLabels as names)."""
    _check_split(task, split, language)
    return _hub_rows(root, task, split, language, None)


# --- writing ----------------------------------------------------------------------------------


def write_xglue_task(*, task: str, source: str, root: str, outputs: Mapping[str, Mapping[str, str]],
                     max_examples: Mapping[str, int | None]) -> None:
    """Write ``outputs[split][language]`` for one task from the release or the hub snapshot at ``root``.

    Keeps the first ``max_examples[split]`` rows (None or absent: all). Every input is read and
    checked before the first file is written, so a bad label in the last split leaves no
    half-written task behind.
    """
    spec = xglue_task_spec(task)
    if source not in SOURCES:
        raise ValueError(f"unknown XGLUE source {source!r} (known: {', '.join(SOURCES)})")
    jobs = [(split, language, path) for split, by_language in outputs.items()
            for language, path in by_language.items()]
    paths = [str(path) for _, _, path in jobs]
    if len(set(paths)) != len(paths):
        raise ValueError(f"{task}: the same output path is given for two splits: {sorted(paths)}")
    for split, language, _ in jobs:
        _check_split(task, split, language)
    for split, limit in max_examples.items():
        if limit is not None and limit < 1:
            raise ValueError(f"max_examples[{split!r}] is {limit}; expected a positive count or None")
    read = []
    for split, language, path in jobs:
        limit = max_examples.get(split)
        if source == "release":
            rows = list(_release_rows(root, task, split, language, limit))
        else:
            rows = _hub_rows(root, task, split, language, limit)
        if not rows:
            raise ValueError(f"{root}: {task} {split} {language} holds no rows")
        read.append((rows, path))
    schema = schema_for(spec.kind)
    for rows, path in read:
        write_parquet(rows, path, schema)


def write_xglue_split(*, xglue: dict, task: str, split: str, language: str, path: PathLike,
                      release_dir: PathLike | None = None) -> None:
    """One XGLUE split as a task Parquet file, from the installed release or the hub's Parquet copy."""
    if xglue["source"] == "release":
        root = release_dir
    else:
        root = hub.snapshot(xglue["hub"], key="xglue.hub", repo_type="dataset",
                            allow_patterns=[f"{HUB_CONFIGS[task]}/*"])
    write_xglue_task(task=task, source=xglue["source"], root=str(root),
                     outputs={split: {language: str(path)}}, max_examples=xglue["max_examples"])
