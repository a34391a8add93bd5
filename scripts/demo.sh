#!/usr/bin/env bash
# The main job: build silica, make a small random-weight Llama-3-shaped test model with the real
# Llama 3 tokenizer (silica ships no trained model yet), show it and generate from it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --peers   # the Llama 3 vocabulary comes from llama.cpp's test data
scripts/build.sh
model=.cache/demo-llama3-q4_K.gguf
build/tools/make_test_model --out "$model" --type q4_K --embd 256 --layers 4 --heads 8 \
  --kv-heads 2 --ff 768 --vocab .cache/llama-src/models/ggml-vocab-llama-bpe.gguf --seed 1 >/dev/null
build/src/cli/silica show "$model"
echo
echo "silica run (random weights, so the text is gibberish; the point is the engine):"
build/src/cli/silica run "$model" -p "The capital of France is" -n 32 --temp 0
