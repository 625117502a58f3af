"""The catalogue of bad input: every value or file that would make a job fail later fails first, in one line.

Each case is (name, a config edit or a file corruption, the key or file the message names, a fragment of
what it says). A config that fails this way must write nothing: the workflow cases run a real
``snakemake -n`` in a copied workflow and check that not even the study's root appears.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from paper_fixtures import (
    LANGUAGES,
    POSITIONS,
    write_checkpoint,
    write_flores,
    write_opus,
    write_xglue_release,
)
from snakemake_runner import copy_workflow, snakemake

from mtbridge.config import ConfigError, prepare_config
from mtbridge.models import fetch_checkpoint

DEFAULT, PAPER = ROOT / "config.yaml", ROOT / "configs" / "paper.yaml"
Edit = Callable[[dict], None]


def setting(path: str, value: object = None, delete: bool = False) -> Edit:
    """An edit that sets (or deletes) the dotted key ``path`` of a raw config."""
    def apply(config: dict) -> None:
        *parents, last = path.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        if delete:
            node.pop(last)
        else:
            node[last] = value
    return apply


def edits(*changes: Edit) -> Edit:
    def apply(config: dict) -> None:
        for change in changes:
            change(config)
    return apply


# --- values the schema accepts but a job cannot use -----------------------------------------------

CONFIG_CASES = [  # (name, base config, edit, key named, fragment)
    ("heads-do-not-divide-width", DEFAULT, setting("models.mbart.hidden_size", 130),
     "models.mbart.attention_heads", "4 does not divide hidden_size 130"),
    ("bert-built-from-sizes", DEFAULT, setting("models.xlmr.architecture", "bert"),
     "models.xlmr.architecture", "'bert' is not built from sizes here"),
    ("nllb-built-from-sizes", DEFAULT, setting("models.mbart.architecture", "nllb"),
     "models.mbart.architecture", "'nllb' is not built from sizes here"),
    ("too-few-cka-sentences", DEFAULT, setting("world.sizes.evaluation", 3),
     "world.sizes.evaluation", "the debiased CKA estimator (analysis.estimator) needs at least 4"),
    ("too-few-flores-sentences", PAPER, setting("evaluation.max_sentences", 2),
     "evaluation.max_sentences", "needs at least 4"),
    ("continued-objectives-without-a-corpus", PAPER, setting("parallel", delete=True),
     "parallel", "required to train ['mbart50cp.denoise-cp'"),
    ("language-without-a-flores-code", PAPER, setting("study.languages", ["en", "bg", "de", "el", "yo"]),
     "evaluation.codes", "no FLORES code for ['yo']"),
    # issue #15: a swap needs its continued objective; an encoder's denoise-cp is mlm-cp; TLM needs an encoder
    ("spectral-swap-without-its-continued-objective", DEFAULT,
     setting("models.mbart.objectives", ["source", "mt-m2o+source-spectrum"]), "models.mbart.objectives",
     "'mt-m2o+source-spectrum' swaps the spectra of 'mt-m2o' and 'source', so 'mt-m2o' must be listed too"),
    ("denoise-cp-of-a-masked-lm-family", DEFAULT, setting("models.xlmr.objectives", ["source", "denoise-cp"]),
     "models.xlmr.objectives", "(did you mean 'mlm-cp'?)"),
    ("tlm-cp-of-a-seq2seq-family", DEFAULT, setting("models.mbart.objectives", ["source", "tlm-cp"]),
     "models.mbart.objectives", "['tlm-cp'] need a masked-LM architecture"),
    ("undefined-resource-level", DEFAULT, setting("world.languages.isolate.resource", "low"),
     "world.languages.isolate.resource", "unknown resource level 'low' (defined: none)"),
    ("dictionary-of-a-language-without-parallel-data", PAPER,
     setting("parallel.dictionaries", {"sw": "induce"}),
     "parallel.dictionaries.sw", "not in parallel.languages"),
]


@pytest.mark.parametrize(("base", "edit", "key", "fragment"), [case[1:] for case in CONFIG_CASES],
                         ids=[case[0] for case in CONFIG_CASES])
def test_a_bad_value_fails_in_one_line_naming_its_key(base: Path, edit: Edit, key: str,
                                                      fragment: str) -> None:
    config = yaml.safe_load(base.read_text())
    edit(config)
    assert_one_line(config, f"config key {key}: ", fragment)


def test_the_unchanged_bases_pass() -> None:
    for base in (DEFAULT, PAPER):
        prepare_config(yaml.safe_load(base.read_text()))


def test_the_biased_estimator_needs_no_four_sentences() -> None:
    config = yaml.safe_load(DEFAULT.read_text())
    edits(setting("world.sizes.evaluation", 3), setting("analysis", {"estimator": "biased"}))(config)
    prepare_config(config)


def assert_one_line(config: dict, start: str, fragment: str) -> str:
    with pytest.raises(ConfigError) as caught:
        prepare_config(config)
    message = str(caught.value)
    assert "\n" not in message, message
    assert message.startswith(start) and fragment in message, message
    return message


# --- files a config points at ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Whole local copies: an XLM-R checkpoint, OPUS-100 and FLORES+ layouts, the XGLUE release tarball."""
    root = tmp_path_factory.mktemp("inputs")
    write_checkpoint("xlm-roberta", root / "xlmr")
    write_checkpoint("bert", root / "bert")
    write_opus(root / "opus", ["de", "bg"])
    write_flores(root / "flores", LANGUAGES)
    tarball, _ = write_xglue_release(root / "xglue")
    shutil.move(tarball, root / "release.tar.gz")
    return root


def local_paper(root: Path) -> dict:
    """configs/paper.yaml narrowed to the fixtures' languages, reading every input from ``root``."""
    config = yaml.safe_load(PAPER.read_text())
    config["study"]["languages"] = list(LANGUAGES)
    for spec in config["models"].values():
        spec.get("language_fallback", {}).pop("el", None)  # no Greek here
    config["models"]["xlmr"].update(hub={"source": {"path": str(root / "xlmr")}}, max_length=POSITIONS)
    config["parallel"].update(hub={"path": str(root / "opus")}, languages=["de", "bg"])
    config["evaluation"]["hub"] = {"path": str(root / "flores")}
    release = {"path": str(root / "release.tar.gz"), "sha256": "0" * 64}  # checked by its job, not here
    config["xglue"] = {"source": "release", "release": release}
    return config


def remove(relative: str) -> Callable[[Path], None]:
    return lambda root: [path.unlink() for path in sorted(root.glob(relative))]


def overwrite(relative: str, data: bytes) -> Callable[[Path], None]:
    return lambda root: (root / relative).write_bytes(data)


def cut(relative: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / relative
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return apply


def write_table(relative: str, table: dict) -> Callable[[Path], None]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return lambda root: pq.write_table(pa.table(table), root / relative)


def opus_sides(relative: str, first: str, second: str, rows: int = 1) -> Callable[[Path], None]:
    import pyarrow as pa

    struct = pa.struct([(first, pa.string()), (second, pa.string())])
    return write_table(relative, {"translation": pa.array([{first: "a", second: "b"}] * rows, struct)})


OPUS_DE = "opus/de-en/train-00000-of-00001.parquet"
GARBLED = b"\x10" + b"\0" * 7 + b"x" * 32  # a 16-byte header that is no JSON
FILE_CASES = [  # (name, corruption of the good files, config edit, key named, fragment)
    ("checkpoint-missing", lambda root: shutil.rmtree(root / "xlmr"), None,
     "models.xlmr.hub.source.path", "xlmr: not a directory"),
    ("checkpoint-without-config", remove("xlmr/config.json"), None,
     "models.xlmr.hub.source.path", "xlmr: no config.json"),
    ("checkpoint-config-not-json", overwrite("xlmr/config.json", b"{model_type: "), None,
     "models.xlmr.hub.source.path", "config.json: not valid JSON"),
    ("checkpoint-of-another-architecture", None, setting("models.xlmr.hub.source.path", "{root}/bert"),
     "models.xlmr.hub.source.path", "is a 'bert' checkpoint, but the family's architecture 'xlm-roberta'"),
    ("checkpoint-without-weights", remove("xlmr/*.safetensors"), None,
     "models.xlmr.hub.source.path", "no weights"),
    ("checkpoint-weights-empty", overwrite("xlmr/model.safetensors", b""), None,
     "models.xlmr.hub.source.path", "model.safetensors: empty file"),
    ("checkpoint-weights-truncated", cut("xlmr/model.safetensors"), None,
     "models.xlmr.hub.source.path", "model.safetensors: truncated"),
    ("checkpoint-weights-header-garbled", overwrite("xlmr/model.safetensors", GARBLED), None,
     "models.xlmr.hub.source.path", "the safetensors header is not valid JSON"),
    ("checkpoint-without-tokenizer", remove("xlmr/*token*"), None,
     "models.xlmr.hub.source.path", "no tokenizer files"),
    ("max-length-beyond-positions", None, setting("models.xlmr.max_length", POSITIONS + 1),
     "models.xlmr.hub.source.path", f"positions reach {POSITIONS} tokens, fewer than max_length"),
    ("parallel-pair-missing", lambda root: shutil.rmtree(root / "opus" / "bg-en"), None,
     "parallel.hub.path", "no Parquet files for config 'bg-en'"),
    ("parallel-wrong-column", write_table(OPUS_DE, {"text": ["a"]}), None,
     "parallel.hub.path", "missing column(s) ['translation']"),
    ("parallel-other-languages", opus_sides(OPUS_DE, "en", "fr"), None,
     "parallel.hub.path", "the translation column holds ['en', 'fr'], not ['de']"),
    ("parallel-empty-file", overwrite(OPUS_DE, b""), None, "parallel.hub.path", "00001.parquet: empty file"),
    ("parallel-not-parquet", overwrite(OPUS_DE, b"source\ttarget\n"), None,
     "parallel.hub.path", "not a readable Parquet file"),
    ("parallel-no-rows", opus_sides(OPUS_DE, "de", "en", rows=0), None, "parallel.hub.path", "no rows"),
    ("flores-language-missing", remove("flores/devtest/bul_Cyrl.parquet"), None,
     "evaluation.hub.path", "no Parquet files for config 'devtest' split 'bul_Cyrl'"),
    ("release-missing", remove("release.tar.gz"), None, "xglue.release.path", "no such file or folder"),
    ("release-not-a-tarball", overwrite("release.tar.gz", b"not a tarball"), None,
     "xglue.release.path", "not a tar archive"),
    ("release-empty-folder", None, setting("xglue.release.path", "{root}/empty"),
     "xglue.release.path", "empty folder"),
    ("dictionary-missing", None, setting("parallel.dictionaries", {"de": "{root}/en-de.txt"}),
     "parallel.dictionaries.de", "en-de.txt: no such dictionary file"),
    ("dictionary-malformed", overwrite("en-de.txt", b"haus house\nhund\n"),
     setting("parallel.dictionaries", {"de": "{root}/en-de.txt"}),
     "parallel.dictionaries.de", "en-de.txt:2: expected 'source target' (two words), got 'hund'"),
]


@pytest.mark.parametrize(("corrupt", "edit", "key", "fragment"), [case[1:] for case in FILE_CASES],
                         ids=[case[0] for case in FILE_CASES])
def test_a_bad_file_fails_in_one_line_naming_key_and_file(good_files: Path, tmp_path: Path, corrupt, edit,
                                                          key: str, fragment: str) -> None:
    root = tmp_path / "inputs"
    shutil.copytree(good_files, root)
    (root / "empty").mkdir()
    if corrupt:
        corrupt(root)
    config = local_paper(root)
    if edit:
        edit(config)
        fill_root(config, root)
    message = assert_one_line(config, f"config key {key}: ", fragment)
    assert str(root) in message


def fill_root(node: object, root: Path) -> None:
    """Replace ``{root}`` in every string value of a config, in place."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in list(items):
        if isinstance(value, str):
            node[key] = value.replace("{root}", str(root))
        else:
            fill_root(value, root)


def test_whole_local_files_pass(good_files: Path) -> None:
    prepare_config(local_paper(good_files))


def test_the_fetch_job_checks_a_truncated_checkpoint_first(good_files: Path, tmp_path: Path) -> None:
    """A hub snapshot is only known once the job downloads it: the job checks it before loading anything."""
    folder = tmp_path / "xlmr"
    shutil.copytree(good_files / "xlmr", folder)
    cut("model.safetensors")(folder)
    output = tmp_path / "fetched"
    with pytest.raises(ValueError) as caught:
        fetch_checkpoint(ref={"path": str(folder)}, key="models.xlmr.hub.source", architecture="xlm-roberta",
                         output_dir=str(output), max_length=POSITIONS)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"config key models.xlmr.hub.source: {folder}"), message
    assert not output.exists()


# --- through a real `snakemake -n`: one line, and nothing written --------------------------------

WORKFLOW_CASES = ["heads-do-not-divide-width", "bert-built-from-sizes", "too-few-cka-sentences"]


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("workflow"), profiles=True)


@pytest.mark.workflow
@pytest.mark.parametrize("name", WORKFLOW_CASES)
def test_snakemake_stops_before_the_dag_and_writes_nothing(workflow_copy: Path, tmp_path: Path,
                                                           name: str) -> None:
    _, base, edit, key, fragment = next(case for case in CONFIG_CASES if case[0] == name)
    config = yaml.safe_load(base.read_text())
    edit(config)
    config["study"]["name"] = f"bad-{name}"
    configfile = tmp_path / "bad.yaml"
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    before = sorted(path.relative_to(workflow_copy) for path in workflow_copy.rglob("*"))
    result = snakemake(workflow_copy, "--configfile", str(configfile), "-n", timeout=300)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("config key")]
    assert result.returncode != 0 and len(lines) == 1, result.stdout + result.stderr
    assert lines[0].startswith(f"config key {key}: ") and fragment in lines[0]
    after = sorted(path.relative_to(workflow_copy) for path in workflow_copy.rglob("*"))
    assert after == before and not (workflow_copy / "studies").exists()


def test_a_relative_path_is_read_where_jobs_run(good_files: Path) -> None:
    """Jobs run in studies/<name>/: a path relative to the project would be missed there, so it is here."""
    config = local_paper(good_files)
    config["xglue"]["release"]["path"] = "release.tar.gz"
    assert_one_line(config, "config key xglue.release.path: studies/paper/release.tar.gz: no such file",
                    "(a relative path is read from the study's folder studies/paper/)")
