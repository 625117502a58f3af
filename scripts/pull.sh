#!/usr/bin/env bash
# A colleague's one command after `git clone`: fetch every artifact from the DVC remote, check it
# was made from this checkout's code and config, bring Snakemake to agree it is up to date, and say
# in one line if it was made with other versions of the libraries that can change numbers.
# Extra arguments go to `dvc pull` (e.g. `-r myremote`, or stage names to fetch only those).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/snakemake ] || bash scripts/install.sh
export PATH="$PWD/.venv/bin:$PATH"
dvc pull "$@"
if ! dvc status --quiet; then
    dvc status
    echo "pull.sh: the pulled artifacts were made from other code or config than this checkout" \
         "(above); run 'dvc repro' or 'snakemake --cores 2' to rebuild exactly what changed" >&2
    exit 1
fi
# dvc checks out files with new mtimes in checkout order, and a clone has no .snakemake metadata.
# DVC has just confirmed that the outputs match this code and config: for each study dvc.yaml tracks,
# build the DAG once (it writes each job's settings file), then give every artifact of the study one
# mtime, later than all of them.
studies=$(python -c 'import yaml
for name, configfile in yaml.safe_load(open("dvc.yaml"))["vars"][0]["studies"].items():
    print(name, configfile)')
export MTBRIDGE_RECONCILING=1  # the workflow stops on unrecorded artifacts, except while this reconciles
while read -r name configfile; do
    if ! built=$(snakemake -n --quiet --configfile "$configfile" 2>&1); then echo "$built" >&2; exit 1; fi
    python -c 'import sys; from mtbridge.provenance import mark_up_to_date; mark_up_to_date(sys.argv[1])' \
        "studies/$name"
    snakemake -n --quiet --configfile "$configfile"
    python -m mtbridge.environment --study "studies/$name"  # one line if made with other library versions
done <<< "$studies"
