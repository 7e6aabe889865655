#!/usr/bin/env bash
# Your model, all the way (issue 24), from the shell only: train and export the three example networks, then
#  - the Tanh and the GELU+Softmax CNN: compress, generate, csim against your own .pt2 on digits (bit-exact
#    against the reference, top-1 agreement with torch printed, at least 99% required); the GELU one from ONNX too;
#  - the colour CNN with global average pooling: compress, evaluate --model, rtl, rtlsim on 20 test inputs.
#   examples/your_model/run.sh [BUILD]      (make example-your-model)
set -euo pipefail
BUILD=${1:-build/your-model}
PC=${PYCOMPRESS:-.venv/bin/pycompress}
PY=${PYTHON:-.venv/bin/python}
if [ -e "$BUILD" ] && [ ! -f "$BUILD/commands.txt" ]; then  # only ever replace a folder this script made
  echo "run.sh: $BUILD exists and is not an earlier output of this script; choose another folder" >&2; exit 2
fi
rm -rf "$BUILD" && mkdir -p "$BUILD" && : > "$BUILD/commands.txt"
run() { echo "+ pycompress $*" | tee -a "$BUILD/commands.txt"; "$PC" "$@"; }

"$PY" examples/your_model/train_export.py -o "$BUILD"
for m in tanh_digits gelu_digits; do
  run compress "$BUILD/$m.pt2" -o "$BUILD/$m.pcz" --format bf16
  run evaluate "$BUILD/$m.pcz" --model "$BUILD/$m.pt2" --data digits
  run generate "$BUILD/$m.pcz" -o "$BUILD/hls-$m"
  run csim "$BUILD/hls-$m" --data digits --model "$BUILD/$m.pt2" --min-agreement 99
done
# the same GELU network from ONNX: its final Softmax a layer of the kernel (outputs are your model's probabilities)
run compress "$BUILD/gelu_digits.onnx" -o "$BUILD/gelu_onnx.pcz" --format bf16
run generate "$BUILD/gelu_onnx.pcz" -o "$BUILD/hls-gelu_onnx"
run csim "$BUILD/hls-gelu_onnx" --data digits --model "$BUILD/gelu_digits.onnx" --min-agreement 99
C="$BUILD/colour_gap"
run compress "$C.pt2" -o "$C.pcz" --format bf16
run evaluate "$C.pcz" --model "$C.pt2" --data "$BUILD/colour_digits.npz"
run rtl "$C.pcz" -o "$BUILD/rtl-colour_gap"
run rtlsim "$BUILD/rtl-colour_gap" --data "$BUILD/colour_digits.npz" --model "$C.pt2" --images 20 --min-agreement 99.9
