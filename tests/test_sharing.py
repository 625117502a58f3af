"""Sharing the study through DVC: a colleague pulls instead of recomputing, and after any change exactly
the affected jobs rerun. End to end on real git and DVC repositories, with artifacts over 1 MB, a local
remote and an S3 API server on loopback (moto)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from snakemake_runner import copy_checkout, planned_jobs

from mtbridge.config import continued_variants, load_config, model_objectives
from mtbridge.paths import ARTIFACT_FOLDERS, study_root

ROOT = Path(__file__).resolve().parent.parent
CONFIG = {
    "seed": 7,
    "study": {"models": ["xlmr"], "tasks": ["topic", "ner"], "languages": ["en", "close"],
              "train_language": "en", "seeds": [1]},
    "world": {"topics": ["sports", "politics", "science"],
              "sizes": {"monolingual": 300, "parallel": 100, "evaluation": 40, "train": 64, "dev": 32,
                        "test": 32},
              "languages": {"en": {"word_order": "SVO", "cognate_share": 1.0},
                            "close": {"word_order": "SVO", "cognate_share": 0.9, "sound_changes": ["k>c"]}}},
    "tokenizer": {"vocab_size": 300, "sentences_per_language": 200},
    # width 192: every checkpoint is over 1 MB, past Snakemake's checksum limit
    "models": {"xlmr": {"architecture": "xlm-roberta", "objectives": ["source", "random-init"],
                        "hidden_size": 192, "layers": 2, "attention_heads": 4, "ffn_size": 384,
                        "max_length": 48,
                        "pretraining": {"steps": 4, "batch_size": 8, "learning_rate": 0.001}}},
    "continued_pretraining": {"tokens": 1000, "batch_size": 8, "learning_rate": 0.001},
    "finetuning": {"defaults": {"epochs": 1, "batch_size": 16, "learning_rate": 0.001}},
    "analysis": {"pooling": "mean"},
}

pytestmark = pytest.mark.workflow


def sh(cwd: Path, *command: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
                   "PYTHONWARNINGS": "ignore", **(env or {})}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=environment, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def artifact_hashes(checkout: Path) -> dict[str, str]:
    """Every artifact of the checkout's default study, by path inside the study's root."""
    root = checkout / study_root("default")
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for folder in ARTIFACT_FOLDERS for path in sorted((root / folder).rglob("*")) if path.is_file()}


def planned(workdir: Path) -> dict[str, int]:
    """Jobs per rule that `snakemake -n` plans (an empty dict when there is nothing to do)."""
    return planned_jobs(sh(workdir, "snakemake", "-n", "--quiet", "rules"))


def clone(origin: Path, target: Path) -> Path:
    sh(origin.parent, "git", "clone", "-q", str(origin), str(target))
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A study reproduced with `dvc repro` and pushed to a local remote, then committed."""
    base = tmp_path_factory.mktemp("sharing")
    repository = base / "origin"
    repository.mkdir()
    copy_checkout(repository)
    (repository / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    sh(repository, "git", "init", "-q")
    sh(repository, "git", "add", "-A")
    sh(repository, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "study")
    sh(repository, "dvc", "repro", "-q")
    sh(repository, "dvc", "remote", "add", "-d", "shared", str(base / "remote"))
    sh(repository, "dvc", "remote", "modify", "shared", "verify", "true")
    sh(repository, "dvc", "push", "-q")
    sh(repository, "git", "add", "-A")
    sh(repository, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "results")
    return repository


@pytest.fixture
def pulled(origin: Path, tmp_path: Path) -> Path:
    colleague = clone(origin, tmp_path / "colleague")
    result = sh(colleague, "bash", "scripts/pull.sh", "-q")
    assert "Nothing to be done" in result.stdout + result.stderr
    return colleague


def test_clone_and_pull_is_up_to_date_and_identical(origin: Path, pulled: Path) -> None:
    assert planned(pulled) == {}
    assert sh(pulled, "dvc", "status", "--quiet").returncode == 0
    hashes = artifact_hashes(pulled)
    assert hashes == artifact_hashes(origin)
    assert any((pulled / study_root("default") / name).stat().st_size > 2**20 for name in hashes)


def test_plain_dvc_pull_stops_before_rerunning_the_study(origin: Path, tmp_path: Path) -> None:
    """Without scripts/pull.sh, Snakemake has no record of the pulled files: one line says what to do."""
    colleague = clone(origin, tmp_path / "plain")
    sh(colleague, "dvc", "pull", "-q")
    result = sh(colleague, "snakemake", "-n", check=False)
    assert result.returncode != 0
    assert "run scripts/pull.sh" in result.stderr and "Traceback" not in result.stderr
    sh(colleague, "bash", "scripts/pull.sh", "-q")
    assert planned(colleague) == {}


def test_added_seed_reruns_exactly_its_jobs_and_rewrites_only_their_files(pulled: Path) -> None:
    config = load_config(pulled / "config.yaml")
    config_text = yaml.safe_load((pulled / "config.yaml").read_text())
    config_text["study"]["seeds"] = [1, 2]
    (pulled / "config.yaml").write_text(yaml.safe_dump(config_text))
    runs = len(model_objectives(config)) * len(config["study"]["tasks"])
    # every table states the config's hash, so each table job reruns too (seconds), and its report page
    expected = {"finetune": runs, "predict": runs * len(config["study"]["languages"]), "transfer_table": 1,
                "cka_language_table": 1, "cka_model_table": 1, "spectra_table": 1, "alignment_table": 1,
                "spectra_ratio_table": 1, "report_page": 7, "all": 1}
    assert planned(pulled) == expected
    before = artifact_hashes(pulled)
    sh(pulled, "snakemake", "--cores", "2", "--quiet")
    after = artifact_hashes(pulled)
    changed = {name for name in after if before.get(name) != after[name]}
    assert changed
    for name in changed:  # new seed-2 artifacts and the re-aggregated tables, nothing else
        assert "seed2" in name or name.startswith("results/"), name
    assert set(before) <= set(after)


def test_changed_library_module_reruns_its_rules_only(pulled: Path) -> None:
    config = load_config(pulled / "config.yaml")
    with open(pulled / "mtbridge" / "figures.py", "a", encoding="utf-8") as handle:
        handle.write("\n# an edit to the figures module\n")
    families = [model for model in config["study"]["models"] if continued_variants(config, model)]
    assert planned(pulled) == {"cka_language_figure": len(model_objectives(config)),
                               "cka_model_figure": len(families),
                               "spectra_figure": len(config["study"]["models"]),
                               "alignment_figure": 1, "all": 1}  # alignment_figures draws with figures


def test_changed_workflow_script_reruns_its_rule_and_descendants(pulled: Path) -> None:
    config = load_config(pulled / "config.yaml")
    with open(pulled / "workflow_scripts" / "spectra.py", "a", encoding="utf-8") as handle:
        handle.write("# an edit to one rule's script\n")
    models = config["study"]["models"]
    assert planned(pulled) == {"spectra": len(model_objectives(config)), "spectra_table": 1,
                               "spectra_ratio_table": 1, "spectra_figure": len(models),
                               "report_page": 2, "all": 1}  # the pages of the two spectra tables


def corrupt(path: Path) -> None:
    path.chmod(0o644)
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))


def test_corrupted_remote_object_is_refused_on_pull(origin: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    shutil.copytree(origin.parent / "remote", remote)
    largest = max(remote.rglob("*"), key=lambda path: path.stat().st_size if path.is_file() else 0)
    corrupt(largest)
    colleague = clone(origin, tmp_path / "colleague")
    sh(colleague, "dvc", "remote", "modify", "--local", "shared", "url", str(remote))
    result = sh(colleague, "dvc", "pull", check=False)
    assert result.returncode != 0
    digest = largest.parent.name + largest.name
    checked_out = [path for path in colleague.rglob("*.safetensors")
                   if hashlib.md5(path.read_bytes()).hexdigest() == digest]
    assert not checked_out  # the object never reached the workspace
    assert all(hashlib.md5(path.read_bytes()).hexdigest() != hashlib.md5(largest.read_bytes()).hexdigest()
               for path in colleague.rglob("*") if path.is_file() and ".dvc" not in path.parts)
    assert sh(colleague, "bash", "scripts/pull.sh", check=False).returncode != 0


def test_corrupted_cache_object_is_fetched_again(pulled: Path) -> None:
    cache = pulled / ".dvc" / "cache"
    largest = max(cache.rglob("*"), key=lambda path: path.stat().st_size if path.is_file() else 0)
    digest = largest.parent.name + largest.name
    corrupt(largest)
    for folder in ARTIFACT_FOLDERS:
        shutil.rmtree(pulled / study_root("default") / folder, ignore_errors=True)
    sh(pulled, "dvc", "pull", "-q")
    restored = [path for path in pulled.rglob("*.safetensors") if ".dvc" not in path.parts
                and hashlib.md5(path.read_bytes()).hexdigest() == digest]
    assert restored


def test_s3_remote_push_clone_pull(origin: Path, tmp_path: Path) -> None:
    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                     aws_secret_access_key="testing", region_name="us-east-1").create_bucket(Bucket="study")
        publisher = clone(origin, tmp_path / "publisher")
        sh(publisher, "dvc", "remote", "add", "s3", "s3://study/mtbridge")
        sh(publisher, "dvc", "remote", "modify", "s3", "endpointurl", endpoint)
        sh(publisher, "dvc", "remote", "modify", "s3", "verify", "true")
        sh(publisher, "dvc", "pull", "-q")
        sh(publisher, "dvc", "push", "-q", "-r", "s3", env=credentials)
        sh(publisher, "git", "add", ".dvc/config")
        sh(publisher, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "s3 remote")
        colleague = clone(publisher, tmp_path / "colleague")
        result = sh(colleague, "bash", "scripts/pull.sh", "-q", "-r", "s3", env=credentials)
        assert "Nothing to be done" in result.stdout + result.stderr
        assert artifact_hashes(colleague) == artifact_hashes(origin)
    finally:
        server.stop()
