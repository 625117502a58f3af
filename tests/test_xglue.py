"""XGLUE loaders against fixtures written in the real formats: the release's files and the hub's Parquet.

The fixtures are built here from one table of sample rows, in each source's own spelling
(release: raw label strings, PAWS-X header and id column, XNLI's ``contradictory``; hub:
ClassLabel indices under the hub's feature names), so both readers must map them back to the
same rows.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import tarfile
from pathlib import Path

import datasets
import pytest

from mtbridge.hub import parquet_files
from mtbridge.splits import read_task_split
from mtbridge.xglue import (
    HUB_CONFIGS,
    XGLUE_LANGUAGES,
    XGLUE_TASKS,
    install_release,
    read_hub_split,
    read_release_split,
    release_checksum,
    write_xglue_task,
    xglue_task_spec,
)

# The hub's ClassLabel names (xglue.py `_info`), written out rather than imported.
HUB_NAMES = {
    "ner": ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"],
    "pos": ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
            "PUNCT", "SCONJ", "SYM", "VERB", "X"],
    "nc": ["foodanddrink", "sports", "travel", "finance", "lifestyle", "news", "entertainment", "health",
           "video", "autos"],
    "xnli": ["entailment", "neutral", "contradiction"],
    "paws-x": ["different", "same"],
    "qadsm": ["Bad", "Good"],
    "wpr": ["Bad", "Fair", "Good", "Excellent", "Perfect"],
    "qam": ["False", "True"],
}
HUB_FIELDS = {
    "ner": ("words", "ner"), "pos": ("words", "pos"),
    "nc": ("news_title", "news_body", "news_category"),
    "xnli": ("premise", "hypothesis", "label"),
    "paws-x": ("sentence1", "sentence2", "label"),
    "qadsm": ("query", "ad_title", "ad_description", "relevance_label"),
    "wpr": ("query", "web_page_title", "web_page_snippet", "relavance_label"),
    "qam": ("question", "answer", "label"),
}
FOLDERS = {"ner": "NER", "pos": "POS", "nc": "NC", "xnli": "XNLI", "pawsx": "PAWSX", "qadsm": "QADSM",
           "wpr": "WPR", "qam": "QAM"}
SPLITS = [("train", "en"), ("dev", "en"), ("dev", "de"), ("test", "en"), ("test", "de")]
HUB_SPLIT = {"train": "train", "dev": "validation", "test": "test"}


def samples(task: str, split: str, language: str) -> list[tuple]:
    """Rows as (text fields..., label) or (tokens, tags); the marker keeps splits apart."""
    m = f"[{language} {split}]"
    return {
        "ner": [([m, "Peter", "Blackburn", "visits", "Berlin"], ["O", "B-PER", "I-PER", "O", "B-LOC"]),
                (["EU", "rejects", "German", "call"], ["B-ORG", "O", "B-MISC", "O"])],
        "pos": [([m, "dogs", "bark", "."], ["X", "NOUN", "VERB", "PUNCT"]),
                (["She", "reads", "books"], ["PRON", "VERB", "NOUN"])],
        "nc": [(f"{m} Cup final tonight", "The match starts at eight.", "sports"),
               (f"{m} Three pasta sauces", "Tomato, garlic, basil.", "foodanddrink"),
               (f"{m} New hatchback tested", "It handles well.", "autos")],
        "xnli": [(f"{m} A man plays a guitar.", "A man makes music.", "entailment"),
                 (f"{m} A man plays a guitar.", "A man plays on stage.", "neutral"),
                 (f"{m} A man plays a guitar.", "Nobody plays.", "contradiction")],
        "pawsx": [(f"{m} The bridge was built in 1901.", "In 1901 the bridge was built.", "same"),
                  (f"{m} Anna met Tom in Rome.", "Tom met Anna in Paris.", "different")],
        "qadsm": [(f"{m} cruise portland maine", "Cruises to Maine", "Book your cabin today.", "Good"),
                  (f"{m} cheap flights", "Garden tools", "Spades and rakes.", "Bad")],
        "wpr": [(f"{m} maxpro", "MaxPro official site", "Buy online.", "4"),
                (f"{m} maxpro", "Phone reviews", "Ten phones compared.", "0"),
                (f"{m} weather rome", "Rome forecast", "Sunny, 25 degrees.", "2")],
        "qam": [(f"{m} who wrote malazan", "Steven Erikson wrote the Malazan books.", "True"),
                (f"{m} who wrote malazan", "Malazan is a fantasy series.", "False")],
    }[task]


def expected_rows(task: str, split: str, language: str) -> list[dict]:
    rows = []
    for index, sample in enumerate(samples(task, split, language)):
        row = {"id": f"{task}-{split}-{language}-{index}", "language": language}
        if task in ("ner", "pos"):
            row |= {"tokens": sample[0], "tags": sample[1]}
        else:
            row |= {"text_a": sample[0], "text_b": " ".join(sample[1:-1]), "label": sample[-1]}
        rows.append(row)
    return rows


# --- the release, in Data_Format.txt's layout ---------------------------------------------------

RAW_LABELS = {"pawsx": {"same": "1", "different": "0"}, "qam": {"True": "1", "False": "0"}}


def release_name(task: str, split: str, language: str) -> str:
    if task in ("ner", "pos"):
        return f"{language}.{split}"
    if task == "xnli":
        return f"multinli.train.{language}.tsv" if split == "train" else f"{language}.{split}"
    if task == "pawsx":
        return f"{language}/{'train.tsv' if split == 'train' else f'{split}_2k.tsv'}"
    return f"xglue.{task}.{language}.{split}"


def release_text(task: str, split: str, language: str) -> str:
    rows = samples(task, split, language)
    if task in ("ner", "pos"):
        sentences = ["".join(f"{word} {tag}\n" for word, tag in zip(*row, strict=True)) for row in rows]
        text = "\n".join(sentences) + "\n"
        if task == "ner" and split == "train":
            text = "-DOCSTART- O\n\n" + text  # the official evaluator skips these lines
        return text.rstrip("\n") + "\n" if split == "test" else text  # no closing blank line
    lines = []
    for number, (*texts, label) in enumerate(rows, start=1):
        raw = RAW_LABELS.get(task, {}).get(label, label)
        if task == "xnli" and split == "train" and label == "contradiction":
            raw = "contradictory"  # MultiNLI's spelling
        lines.append("\t".join(([str(number)] if task == "pawsx" else []) + texts + [raw]))
    if task == "pawsx":
        lines.insert(0, "id\tsentence1\tsentence2\tlabel")
    if task == "xnli" and split == "train":
        lines.insert(0, "premise\thypo\tlabel")
    return "\n".join(lines) + "\n"


def write_release(folder: Path) -> Path:
    base = folder / "xglue_full_dataset"
    for task in XGLUE_TASKS:
        for split, language in SPLITS + ([("dev", "pt"), ("test", "pt")] if task == "pos" else []):
            path = base / FOLDERS[task] / release_name(task, split, language)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(release_text(task, split, language), encoding="utf-8")
    return folder


def tarball_of(folder: Path, path: Path) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        archive.add(folder / "xglue_full_dataset", arcname="xglue_full_dataset")
    return path


# --- the hub's Parquet conversion ---------------------------------------------------------------


def hub_dataset(config: str, rows: list[tuple]) -> datasets.Dataset:
    names, fields = HUB_NAMES[config], HUB_FIELDS[config]
    if config in ("ner", "pos"):
        features = datasets.Features({fields[0]: datasets.List(datasets.Value("string")),
                                      fields[1]: datasets.List(datasets.ClassLabel(names=names))})
        columns = {fields[0]: [row[0] for row in rows],
                   fields[1]: [[names.index(tag) for tag in row[1]] for row in rows]}
    else:
        features = datasets.Features({**{name: datasets.Value("string") for name in fields[:-1]},
                                      fields[-1]: datasets.ClassLabel(names=names)})
        index = int if config == "wpr" else names.index  # WPR: the grade is the index
        columns = {name: [row[position] for row in rows] for position, name in enumerate(fields[:-1])}
        columns[fields[-1]] = [index(row[-1]) for row in rows]
    return datasets.Dataset.from_dict(columns, features=features)


def write_hub(folder: Path) -> Path:
    for task in XGLUE_TASKS:
        config = HUB_CONFIGS[task]
        for split, language in SPLITS:
            name = "train" if split == "train" else f"{HUB_SPLIT[split]}.{language}"
            rows = samples(task, split, language)
            if task == "ner" and split == "train":
                rows = [(["-DOCSTART-"], ["O"])] + rows  # what the loading script made of the line
            dataset = hub_dataset(config, rows)
            if task == "ner":  # refs/convert/parquet layout
                dataset.to_parquet(str(folder / config / name / "0000.parquet"))
            elif task == "nc":
                dataset.to_parquet(str(folder / config / f"{name}.parquet"))
            elif task == "wpr" and split == "train":  # two shards, read in order
                dataset.select([0, 1]).to_parquet(str(folder / config / f"{name}-00000-of-00002.parquet"))
                dataset.select([2]).to_parquet(str(folder / config / f"{name}-00001-of-00002.parquet"))
            else:
                dataset.to_parquet(str(folder / config / f"{name}-00000-of-00001.parquet"))
    return folder


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("xglue")
    folder = write_release(root / "release")
    tarball = tarball_of(folder, root / "xglue_full_dataset.tar.gz")
    install_release(tarball, release_checksum(tarball), root / "installed")
    return {"folder": folder, "tarball": tarball, "installed": root / "installed",
            "hub": write_hub(root / "hub")}


# --- tests ------------------------------------------------------------------------------------


def test_specs_and_languages() -> None:
    assert XGLUE_TASKS == ("ner", "pos", "nc", "xnli", "pawsx", "qadsm", "wpr", "qam")
    assert {task: len(XGLUE_LANGUAGES[task]) for task in XGLUE_TASKS} == {
        "ner": 4, "pos": 18, "nc": 5, "xnli": 15, "pawsx": 4, "qadsm": 3, "wpr": 7, "qam": 3}
    assert all(XGLUE_LANGUAGES[task][0] == "en" for task in XGLUE_TASKS)
    assert HUB_CONFIGS["pawsx"] == "paws-x" and HUB_CONFIGS["wpr"] == "wpr"
    kinds = {task: (xglue_task_spec(task).kind, xglue_task_spec(task).metric) for task in XGLUE_TASKS}
    assert kinds["ner"] == ("tagging", "entity_f1") and kinds["pos"] == ("tagging", "accuracy")
    assert kinds["wpr"] == ("classification", "ndcg") and kinds["qam"] == ("classification", "accuracy")
    assert xglue_task_spec("wpr").labels == ("0", "1", "2", "3", "4")
    assert xglue_task_spec("pawsx").labels == ("different", "same")
    with pytest.raises(ValueError, match="unknown XGLUE task 'mlqa'"):
        xglue_task_spec("mlqa")


@pytest.mark.parametrize("task", XGLUE_TASKS)
def test_release_and_hub_give_the_same_rows(sources: dict[str, Path], task: str) -> None:
    for split, language in SPLITS:
        release = read_release_split(sources["installed"], task, split, language)
        hub = read_hub_split(sources["hub"], task, split, language)
        assert release == hub == expected_rows(task, split, language), (split, language)


def test_row_texts_and_labels_spelled_out(sources: dict[str, Path]) -> None:
    qadsm = read_release_split(sources["installed"], "qadsm", "dev", "de")[0]
    assert qadsm == {"id": "qadsm-dev-de-0", "language": "de", "text_a": "[de dev] cruise portland maine",
                     "text_b": "Cruises to Maine Book your cabin today.", "label": "Good"}
    wpr = read_hub_split(sources["hub"], "wpr", "train", "en")
    assert [(row["text_a"], row["label"]) for row in wpr] == [
        ("[en train] maxpro", "4"), ("[en train] maxpro", "0"), ("[en train] weather rome", "2")]
    assert read_release_split(sources["installed"], "xnli", "train", "en")[2]["label"] == "contradiction"
    ner = read_release_split(sources["installed"], "ner", "train", "en")
    assert len(ner) == 2 and ner[0]["tags"] == ["O", "B-PER", "I-PER", "O", "B-LOC"]  # -DOCSTART- dropped


def test_folder_install_reads_like_the_tarball(sources: dict[str, Path], tmp_path: Path) -> None:
    install_release(sources["folder"], release_checksum(sources["folder"]), tmp_path / "copy")
    for task in ("pawsx", "pos"):
        assert (read_release_split(tmp_path / "copy", task, "test", "de")
                == read_release_split(sources["installed"], task, "test", "de"))


def test_folder_checksum_is_the_sha256_of_its_sorted_sha256sum_listing(tmp_path: Path) -> None:
    folder = tmp_path / "release"
    (folder / "b").mkdir(parents=True)
    (folder / "b" / "x.txt").write_text("x")
    (folder / "a.txt").write_text("a")
    listing = "".join(f"{hashlib.sha256(content).hexdigest()}  {name}\n"
                      for name, content in [("a.txt", b"a"), ("b/x.txt", b"x")])
    assert release_checksum(folder) == hashlib.sha256(listing.encode()).hexdigest()
    (folder / "a.txt").write_text("changed")
    assert release_checksum(folder) != hashlib.sha256(listing.encode()).hexdigest()


@pytest.mark.parametrize("kind", ["tarball", "folder"])
def test_checksum_mismatch_is_one_line_and_leaves_nothing(sources: dict[str, Path], tmp_path: Path,
                                                          kind: str) -> None:
    destination = tmp_path / "deep" / "installed"
    wrong = "0" * 64
    with pytest.raises(ValueError, match=f"sha256 mismatch: expected {wrong}, found [0-9a-f]{{64}}") as error:
        install_release(sources[kind], wrong, destination)
    assert str(sources[kind]) in str(error.value) and "\n" not in str(error.value)
    assert not destination.exists() and not destination.parent.exists()


def _hostile_tarball(path: Path, member: str) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("xglue_full_dataset/NER/en.train")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"a O\n"))
        info = tarfile.TarInfo(member)
        if member == "xglue_full_dataset/link":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        else:
            info.size = 4
        archive.addfile(info, io.BytesIO(b"evil") if info.isfile() else None)
    return path


@pytest.mark.parametrize("member", ["../evil.txt", "xglue_full_dataset/../../evil.txt", "/tmp/evil.txt",
                                    "xglue_full_dataset/link"])
def test_unsafe_tarball_members_are_refused(tmp_path: Path, member: str) -> None:
    tarball = _hostile_tarball(tmp_path / "hostile.tar.gz", member)
    destination = tmp_path / "out" / "installed"
    with pytest.raises(ValueError, match="refusing member"):
        install_release(tarball, release_checksum(tarball), destination)
    assert not destination.exists() and not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "out" / "evil.txt").exists()


def test_unknown_label_names_file_row_and_label(sources: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "release"
    shutil.copytree(sources["folder"], root)
    path = root / "xglue_full_dataset" / "NC" / "xglue.nc.de.dev"
    path.write_text(path.read_text().replace("\tfoodanddrink\n", "\tweather\n"))
    with pytest.raises(ValueError, match=r"xglue\.nc\.de\.dev:2: unknown nc label 'weather'") as error:
        read_release_split(root, "nc", "dev", "de")
    assert "\n" not in str(error.value)


def test_unknown_hub_label_names_file_and_row(tmp_path: Path) -> None:
    dataset = hub_dataset("qam", samples("qam", "test", "de"))
    dataset = dataset.cast_column("label", datasets.Value("int64")).map(
        lambda row, index: {"label": -1 if index == 1 else row["label"]}, with_indices=True)
    path = tmp_path / "qam" / "test.de-00000-of-00001.parquet"
    dataset.to_parquet(str(path))
    with pytest.raises(ValueError, match=re.escape(f"{path} row 1: unknown qam label -1")):
        read_hub_split(tmp_path, "qam", "test", "de")


def test_a_file_without_its_label_column_fails_on_the_column_count(sources: dict[str, Path],
                                                                   tmp_path: Path) -> None:
    root = tmp_path / "release"
    shutil.copytree(sources["folder"], root)
    path = root / "xglue_full_dataset" / "QAM" / "xglue.qam.de.test"
    path.write_text("".join(line.rsplit("\t", 1)[0] + "\n" for line in path.read_text().splitlines()))
    with pytest.raises(ValueError, match=r"xglue\.qam\.de\.test:1: 2 tab-separated columns, expected 3"):
        read_release_split(root, "qam", "test", "de")


def test_missing_hub_split_is_one_line(sources: dict[str, Path]) -> None:
    with pytest.raises(FileNotFoundError) as error:
        parquet_files(sources["hub"], "pos", "validation.pt")  # the hub has no POS pt
    message = str(error.value)
    assert "\n" not in message and str(sources["hub"]) in message and "'pos'" in message
    assert "pos/validation.pt/*.parquet" in message and "pos/validation.pt-*.parquet" in message
    with pytest.raises(FileNotFoundError, match="'validation.pt'"):
        read_hub_split(sources["hub"], "pos", "dev", "pt")
    assert read_release_split(sources["installed"], "pos", "dev", "pt") == expected_rows("pos", "dev", "pt")


def test_hub_split_files_are_in_shard_order(sources: dict[str, Path]) -> None:
    assert [path.name for path in parquet_files(sources["hub"], "wpr", "train")] == [
        "train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]
    assert parquet_files(sources["hub"], "ner", "test.de") == [
        sources["hub"] / "ner" / "test.de" / "0000.parquet"]


@pytest.mark.parametrize(("task", "split", "language", "message"), [
    ("ner", "train", "de", "training data in 'en' only"),
    ("qam", "dev", "es", "qam has no language 'es'"),
    ("nc", "validation", "en", "unknown split 'validation'"),
])
def test_bad_requests_are_refused(sources: dict[str, Path], task, split, language, message) -> None:
    for reader, root in ((read_release_split, sources["installed"]), (read_hub_split, sources["hub"])):
        with pytest.raises(ValueError, match=message):
            reader(root, task, split, language)


def _outputs(folder: Path, languages=("en", "de")) -> dict[str, dict[str, str]]:
    outputs = {"train": {"en": str(folder / "train" / "en.parquet")}}
    for split in ("dev", "test"):
        outputs[split] = {language: str(folder / split / f"{language}.parquet") for language in languages}
    return outputs


@pytest.mark.parametrize("source", ["release", "hub"])
@pytest.mark.parametrize("task", ["ner", "wpr"])
def test_write_xglue_task_writes_readable_splits(sources: dict[str, Path], tmp_path: Path, source: str,
                                                 task: str) -> None:
    root = sources["installed" if source == "release" else "hub"]
    outputs = _outputs(tmp_path)
    write_xglue_task(task=task, source=source, root=str(root), outputs=outputs,
                     max_examples={"train": None, "dev": None, "test": None})
    kind = xglue_task_spec(task).kind
    for split, by_language in outputs.items():
        for language, path in by_language.items():
            assert read_task_split(path, kind).to_pylist() == expected_rows(task, split, language)


def test_write_xglue_task_keeps_the_first_rows(sources: dict[str, Path], tmp_path: Path) -> None:
    outputs = _outputs(tmp_path)
    write_xglue_task(task="nc", source="hub", root=str(sources["hub"]), outputs=outputs,
                     max_examples={"train": 2, "dev": None, "test": 1})
    counts = {(split, language): read_task_split(path, "classification").num_rows
              for split, by_language in outputs.items() for language, path in by_language.items()}
    assert counts == {("train", "en"): 2, ("dev", "en"): 3, ("dev", "de"): 3, ("test", "en"): 1,
                      ("test", "de"): 1}
    assert read_task_split(outputs["train"]["en"], "classification").to_pylist() == expected_rows(
        "nc", "train", "en")[:2]


def test_write_xglue_task_reads_everything_before_writing(sources: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "release"
    shutil.copytree(sources["folder"], root)
    path = root / "xglue_full_dataset" / "NC" / "xglue.nc.de.test"  # the last output read
    path.write_text(path.read_text().replace("\tautos\n", "\tcars\n"))
    outputs = _outputs(tmp_path / "out")
    with pytest.raises(ValueError, match="unknown nc label 'cars'"):
        write_xglue_task(task="nc", source="release", root=str(root), outputs=outputs, max_examples={})
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="unknown XGLUE source 'web'"):
        write_xglue_task(task="nc", source="web", root=str(root), outputs=outputs, max_examples={})
