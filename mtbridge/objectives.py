"""The pretraining objectives and which architectures can train them: constants shared by the
configuration, the paths and the pretraining jobs.

A module of its own, importing nothing, so that a job reaching these names does not reach the whole
configuration (and, through it, the XGLUE loader): see tests/test_fingerprints.py.
"""

BUILT_OBJECTIVES = ("source", "random-init")
CONTINUED_OBJECTIVES = ("denoise-cp", "mt-m2m", "mt-o2m", "mt-m2o")  # continue `source`
MT_OBJECTIVES = ("mt-m2m", "mt-o2m", "mt-m2o")  # need a seq2seq architecture
OBJECTIVES = (*BUILT_OBJECTIVES, *CONTINUED_OBJECTIVES)
SEQ2SEQ_ARCHITECTURES = ("mbart", "nllb")

# Token-level alignment (issue #15, part 1): continued objectives that pretraining.continue_pretraining
# trains beside CONTINUED_OBJECTIVES (the schema lists them; configs/extended.yaml runs them).
# `codeswitch-cp` is the family's source objective on a code-switched corpus (mtbridge.codeswitch);
# `mlm-cp` and `tlm-cp` (XLM's translation LM on parallel pairs) need a masked-LM family.
ALIGNMENT_OBJECTIVES = ("mlm-cp", "tlm-cp", "codeswitch-cp")
ENCODER_ONLY_OBJECTIVES = ("mlm-cp", "tlm-cp")
TRAINABLE_CONTINUED = (*CONTINUED_OBJECTIVES, *ALIGNMENT_OBJECTIVES)

# The spectral ablation (part 3, mtbridge.spectral_swap): two derived checkpoints per continued one.
SPECTRAL_SWAPS = ("source-spectrum", "source-vectors")


def spectral_swap_objective(continued: str, swap: str) -> str:
    """The derived objective's name: ``mt-m2o+source-spectrum`` is mt-m2o's singular vectors with the
    source's singular values; ``mt-m2o+source-vectors`` the source's vectors with mt-m2o's values."""
    if swap not in SPECTRAL_SWAPS:
        raise ValueError(f"spectral swap must be one of {SPECTRAL_SWAPS}, got {swap!r}")
    if continued not in TRAINABLE_CONTINUED:
        raise ValueError(f"{continued!r} is not a continued objective; expected one of {TRAINABLE_CONTINUED}")
    return f"{continued}+{swap}"
