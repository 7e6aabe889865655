#!/usr/bin/env bash
# The worked example from the shell only: the shipped ResNet (.pt2) through stats, compress, approximate,
# esart, explore, generate and csim; every command's JSON/text output in BUILD, the report in REPORT.
#   examples/resnet_mnist/run.sh [BUILD] [REPORT]      (make example-resnet)
set -euo pipefail
BUILD=${1:-build/resnet-mnist}
REPORT=${2:-reports/resnet-mnist}
PC=${PYCOMPRESS:-.venv/bin/pycompress}
PY=${PYTHON:-.venv/bin/python}
MODEL=${MODEL:-examples/resnet_mnist/resnet_mnist.pt2}
DATA=${DATA:-mnist5k}
if [ -e "$BUILD" ] && [ ! -f "$BUILD/commands.txt" ]; then  # only ever replace a folder this script made
  echo "run.sh: $BUILD exists and is not an earlier output of this script; choose another folder" >&2; exit 2
fi
rm -rf "$BUILD" && mkdir -p "$BUILD" && : > "$BUILD/commands.txt"
run() { local name=$1; shift; echo "+ pycompress $*" | tee -a "$BUILD/commands.txt"; local t0=$SECONDS
        "$PC" "$@" | tee "$BUILD/$name.out"; echo "$name $((SECONDS - t0))" >> "$BUILD/seconds.txt"; }

run stats stats "$MODEL" --format bf16 --json
run evaluate evaluate "$MODEL" --data "$DATA" --json
run compress compress "$MODEL" -o "$BUILD/bf16.pcz" --format bf16
run approximate approximate "$MODEL" -o "$BUILD/approximate.pcz" --data "$DATA" --max-drop 0.5
run esart esart "$MODEL" -o "$BUILD/esart.pcz" --data "$DATA" --epochs 2 --max-drop 0.5
run explore explore "$MODEL" -o "$BUILD/explore.pcz" --data "$DATA" --trials 48 --report "$BUILD/explore"
run share share "$MODEL" -o "$BUILD/share.pcz" --data "$DATA" --max-drop 0.5 --plan-items 2000 \
    --prune-grid 0,0.3,0.5,0.6,0.7,0.8,0.85,0.9,0.93,0.95 --ks 4,6,8,12,16,32 --report "$BUILD/share"
for m in bf16 approximate esart explore share; do
  run "evaluate-$m" evaluate "$BUILD/$m.pcz" --data "$DATA" --json
  run "stats-$m" stats "$BUILD/$m.pcz" --json
done
for m in bf16 explore share; do
  run "generate-$m" generate "$BUILD/$m.pcz" -o "$BUILD/hls-$m"
  run "csim-$m" csim "$BUILD/hls-$m" --data "$DATA" --model "$MODEL" --min-agreement 99.9 --json
done
"$PY" examples/resnet_mnist/report.py "$BUILD" "$REPORT" --model "$MODEL" --data "$DATA"
