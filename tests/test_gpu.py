"""The real-scale path on a GPU: an mBART-50-sized model (random weights, the real classes and tokenizer
type) fine-tuned and scored on an XGLUE-format task, its activations dumped and its spectra computed,
in bfloat16 autocast. Skipped where no CUDA device is visible (CI has none).

The GPU check (benchmarks/gpu_check.py, scripts/gpu_check.sh) runs everywhere: its CPU smoke test,
its refusal without a GPU, its time budget, and the shape of its mbart-large-50 stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from conftest import ROOT, benchmark_module

from mtbridge.analysis import write_spectra
from mtbridge.finetuning import finetune, predict
from mtbridge.io import write_parquet
from mtbridge.models import pretraining_model, save_pretrained
from mtbridge.representations import dump_activations, open_dump
from mtbridge.tasks import CLASSIFICATION_SCHEMA, CORPUS_SCHEMA
from mtbridge.xglue import xglue_task_spec

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device visible")

WORDS = ("the", "a", "cat", "dog", "sat", "ran", "on", "under", "mat", "house", "red", "big", "small",
         "green", "tree", "river")
GPU = {"accelerator": "cuda", "autocast": "auto"}


def mbart50_sized_checkpoint(directory: Path) -> None:
    """mBART-large-50's architecture (12+12 layers, d 1024, 16 heads, ffn 4096), random weights, with
    an MBart50 tokenizer over a small vocabulary (the embedding matrix is the only smaller part)."""
    from transformers import MBart50Tokenizer, MBartConfig

    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(f"▁{word}", -float(index)) for index, word in enumerate(WORDS)]
    tokenizer = MBart50Tokenizer(vocab=vocab, src_lang="en_XX")
    config = MBartConfig(vocab_size=len(tokenizer), d_model=1024, encoder_layers=12, decoder_layers=12,
                         encoder_attention_heads=16, decoder_attention_heads=16, encoder_ffn_dim=4096,
                         decoder_ffn_dim=4096, max_position_embeddings=1024, pad_token_id=1,
                         bos_token_id=0, eos_token_id=2, decoder_start_token_id=2)
    torch.manual_seed(0)
    save_pretrained(pretraining_model(config), directory, {"objective": "random"}, tokenizer)


def xnli_rows(language: str, count: int) -> list[dict]:
    generator = torch.Generator().manual_seed(len(language) + count)
    rows = []
    for index in range(count):
        picks = torch.randint(len(WORDS), (12,), generator=generator).tolist()
        rows.append({"id": f"{language}-{index}", "language": language,
                     "text_a": " ".join(WORDS[i] for i in picks[:8]),
                     "text_b": " ".join(WORDS[i] for i in picks[8:]),
                     "label": ("entailment", "neutral", "contradiction")[index % 3]})
    return rows


@needs_cuda
def test_finetune_predict_dump_and_spectra_in_bfloat16(tmp_path: Path) -> None:
    checkpoint = tmp_path / "checkpoint"
    mbart50_sized_checkpoint(checkpoint)
    splits = {name: tmp_path / f"{name}.parquet" for name in ("train", "dev", "test")}
    for path, (language, count) in zip(splits.values(), [("en", 2048), ("en", 256), ("de", 512)],
                                       strict=True):
        write_parquet(xnli_rows(language, count), path, CLASSIFICATION_SCHEMA)
    spec = xglue_task_spec("xnli")
    task = {"name": spec.name, "kind": spec.kind, "metric": spec.metric, "labels": list(spec.labels)}
    family = {"architecture": "mbart", "max_length": 128, "language_fallback": {}}
    settings = {"epochs": 1, "batch_size": 32, "gradient_accumulation": 2, "learning_rate": 2e-5,
                "warmup_ratio": 0.1, "dropout": 0.1, "evaluations_per_epoch": 1, "pooling": "mean",
                "eval_batch_size": 128}
    started = time.perf_counter()
    finetune(task=task, spec=family, languages=["en", "de"], settings=settings,
             checkpoint_dir=str(checkpoint), train_path=str(splits["train"]), dev_path=str(splits["dev"]),
             output_dir=str(tmp_path / "finetuned"), seed=1, threads=4, head={}, device=GPU)
    finetuning = time.perf_counter() - started
    predict(task=task, spec=family, languages=["en", "de"], finetuned_dir=str(tmp_path / "finetuned"),
            test_path=str(splits["test"]), predictions_path=str(tmp_path / "predictions.parquet"),
            metrics_path=str(tmp_path / "metrics.json"), meta={"model": "m", "objective": "o",
                                                                 "task": "xnli", "language": "de", "seed": 1},
            threads=4, batch_size=128, device=GPU)
    assert pq.read_table(tmp_path / "predictions.parquet").num_rows == 512
    assert 0 <= json.loads((tmp_path / "metrics.json").read_text())["score"] <= 1

    sentences = tmp_path / "evaluation.parquet"
    write_parquet([{"id": str(i), "language": "de", "text": row["text_a"]}
                   for i, row in enumerate(xnli_rows("de", 1000))], sentences, CORPUS_SCHEMA)
    started = time.perf_counter()
    dump_activations(spec=family, languages=["de"], language="de", checkpoint_dir=str(checkpoint),
                     evaluation_path=str(sentences), output_path=str(tmp_path / "dump.safetensors"),
                     pooling="mean", batch_size=128, precision="bfloat16", threads=4, meta={}, device=GPU)
    dumping = time.perf_counter() - started
    dump = open_dump(tmp_path / "dump.safetensors")
    assert len(dump.layers) == 13 and dump.layer("layer_12").shape == (1000, 1024)

    write_spectra(checkpoint_dir=str(checkpoint), output_path=str(tmp_path / "spectra.parquet"),
                  model="m", objective="o", device=GPU)
    assert pq.read_table(tmp_path / "spectra.parquet").num_rows > 0
    print(f"\nGPU {torch.cuda.get_device_name()}: fine-tuning 32 steps of 64 examples in {finetuning:.1f} s "
          f"({2048 / finetuning:.0f} examples/s incl. dev evaluation); dump of 1000 sentences "
          f"in {dumping:.1f} s")


# --- the GPU check script -----------------------------------------------------------------------


@pytest.mark.slow
def test_gpu_check_runs_every_phase_on_the_cpu(tmp_path: Path) -> None:
    gpu_check = benchmark_module("gpu_check")
    output = tmp_path / "gpu_check.json"
    command = ["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--device", "cpu", "--size", "tiny",
               "--threads", "1", "--output", str(output)]
    done = subprocess.run(command,
                          env={**os.environ, "PYTHON": sys.executable}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    report = json.loads(output.read_text())
    assert report["complete"] and report["skipped"] == [] and report["device"] == "cpu"
    assert [phase["phase"] for phase in report["phases"]] == list(gpu_check.PHASES)
    for phase in report["phases"]:
        assert phase["steps"] > 0 and phase["wall_s"] > 0, phase
        if phase["phase"] == "spectra":
            assert phase["matrices_per_s"] > 0, phase
        else:
            assert phase["tokens_per_s"] > 0 and phase["sentences_per_s"] > 0, phase
        printed = [text for text in lines if text.split()[:1] == [phase["phase"]]]
        assert len(printed) == 1, done.stdout
        assert printed[0].split()[1] == str(phase["steps"])


def test_gpu_check_refuses_without_a_gpu(tmp_path: Path) -> None:
    output = tmp_path / "gpu_check.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--output", str(output)]
    done = subprocess.run(command,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("gpu_check: no CUDA GPU visible") and "--device cpu" in done.stderr
    assert not output.exists()


def test_gpu_check_stops_at_its_budget(tmp_path: Path, capsys) -> None:
    output = tmp_path / "gpu_check.json"
    status = benchmark_module("gpu_check").main(["--device", "cpu", "--size", "tiny", "--threads", "1",
                                      "--budget-s", "0.01", "--output", str(output)])
    report = json.loads(output.read_text())
    assert status == 3 and not report["complete"] and report["skipped"]
    assert "budget of 0.01 s is spent" in capsys.readouterr().out


def test_gpu_check_stand_in_is_mbart_large_50_shaped(tmp_path: Path) -> None:
    """The config and tokenizer it builds: mbart-large-50's vocabulary, sizes and 610,879,488 parameters."""
    from transformers import AutoConfig, MBartForConditionalGeneration

    from mtbridge.tokenizer import framing, load_tokenizer

    gpu_check = benchmark_module("gpu_check")
    size = gpu_check.SIZES["mbart-large-50"]
    gpu_check.stand_in_source(size, tmp_path)
    tokenizer, config = load_tokenizer(tmp_path), AutoConfig.from_pretrained(tmp_path)
    assert len(tokenizer) == config.vocab_size == 250054
    assert (config.d_model, config.encoder_layers, config.decoder_layers, config.encoder_attention_heads,
            config.encoder_ffn_dim, config.max_position_embeddings) == (1024, 12, 12, 16, 4096, 1024)
    with torch.device("meta"):
        model = MBartForConditionalGeneration(config)
    assert sum(parameter.numel() for parameter in model.parameters()) == 610_879_488
    assert framing(tokenizer, "mbart", ["en", "de"]).language_ids == {"en": 250004, "de": 250003}
    sentence = gpu_check.Text(size).sentence()
    assert len(tokenizer(sentence, add_special_tokens=False)["input_ids"]) == len(sentence.split())
