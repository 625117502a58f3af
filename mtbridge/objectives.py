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
