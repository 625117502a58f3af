# Token-level alignment (issue #15, part 1): a corpus with a share of its words replaced by their
# dictionary translations, which `codeswitch-cp` continues the source objective on. One job per
# corpus: a language's monolingual corpus (synthetic world) or a parallel corpus en-X (XGLUE study).
# The dictionaries come from the world's lexicon (data.smk) or are induced / given (xglue.smk).


rule codeswitched_corpus:
    input:
        corpus=codeswitch_source,
        dictionaries=codeswitch_dictionaries,
        settings=job_settings(
            "mtbridge.codeswitch:write_codeswitched_corpus",
            pairs=codeswitch_pairs,
            share=CODESWITCH_SHARE,
            seed=config["seed"],
        ),
    output:
        paths.codeswitched_corpus("{corpus}"),
    log:
        paths.log("codeswitched_corpus", "{corpus}"),
    priority: CRITICAL_PATH  # feeds continued pretraining
    conda:
        CONDA_ENV
    threads: threads_of("data")
    resources:
        **resources_of("data"),
    script:
        "../workflow_scripts/codeswitched_corpus.py"
