"""Resume after a kill: a training job killed part-way continues from its last saved state on the
next attempt and ends with the same bytes as a run that was never interrupted."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import LANGUAGES, SEED, SmallWorld, model_spec

from mtbridge.models import WEIGHTS_FILE
from mtbridge.pretraining import pretrain_source
from mtbridge.training import Resume

STEPS, EVERY = 150, 10


def arguments(small_world: SmallWorld, tokenizer_dir: Path, spec: dict, output: Path,
              resume: Path | None) -> dict:
    return dict(spec=spec, languages=list(LANGUAGES), tokenizer_dir=str(tokenizer_dir),
                corpus_paths=[str(small_world.monolingual(code)) for code in LANGUAGES],
                output_dir=str(output), seed=SEED, threads=1,
                resume={"directory": str(resume), "key": "job-settings", "every": EVERY} if resume else None)


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["mbart", "xlm-roberta"])
def test_a_killed_pretraining_resumes_to_the_same_weights(small_world: SmallWorld, tokenizer_dir: Path,
                                                          micro_config: dict, tmp_path: Path,
                                                          architecture: str) -> None:
    spec = model_spec(micro_config, architecture, steps=STEPS, batch_size=4)
    pretrain_source(**arguments(small_world, tokenizer_dir, spec, tmp_path / "whole", None))

    resume = tmp_path / "resume"
    job = arguments(small_world, tokenizer_dir, spec, tmp_path / "killed", resume)
    code = ("import json, sys; from mtbridge.pretraining import pretrain_source; "
            "pretrain_source(**json.loads(sys.argv[1]))")
    process = subprocess.Popen([sys.executable, "-c", code, json.dumps(job)], cwd=tmp_path,
                               env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    state = resume / "state.pt"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if state.exists() and torch.load(state, weights_only=True)["step"] >= 3 * EVERY:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the job ended before it could be killed; make STEPS larger"
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved = torch.load(state, weights_only=True)["step"]
    assert 3 * EVERY <= saved < STEPS and not (tmp_path / "killed").exists()

    messages: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger("mtbridge")
    logger.addHandler(handler)
    level, disabled = logger.level, logger.disabled
    logger.setLevel(logging.INFO)
    logger.disabled = False  # Snakemake's logging set-up, imported by the config fixture, disables it
    try:
        pretrain_source(**job)  # the next attempt
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled
    assert any(message.startswith(f"resuming from step {saved} of {STEPS}") for message in messages)
    whole, resumed = tmp_path / "whole", tmp_path / "killed"
    assert (resumed / WEIGHTS_FILE).read_bytes() == (whole / WEIGHTS_FILE).read_bytes()
    assert json.loads((resumed / "training.json").read_text()) == json.loads(
        (whole / "training.json").read_text())
    assert not resume.exists()  # a finished job leaves no state behind


def test_a_state_saved_under_other_settings_is_ignored(tmp_path: Path) -> None:
    old = Resume(tmp_path, key="old settings", every=5)
    old.save({"step": 3})
    assert old.load()["step"] == 3
    assert Resume(tmp_path, key="new settings", every=5).load() is None
    old.clear()
    assert not tmp_path.exists() and old.load() is None
