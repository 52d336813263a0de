"""Writes the converted model as a standard Hugging Face / sentence-transformers folder and
keeps it cached outside git, rebuilt when the source file or the converter changes.

    <models dir>/e5-small/<source sha256[:16]>-<converter digest[:12]>/
      config.json, model.safetensors          XLMRobertaModel (fp32, dequantized)
      tokenizer.json, tokenizer_config.json   XLM-R unigram + the file's normalization map
      modules.json, sentence_bert_config.json, config_sentence_transformers.json
      1_Pooling/config.json (mean), 2_Normalize/
      onnx/model.onnx                         input_ids, attention_mask -> last_hidden_state
      onnx/encoder.onnx                       inputs_embeds, attention_mask -> last_hidden_state
      onnx/encoder_qint8.onnx                 the same, MatMul weights dynamically int8
      onnx/word_embeddings.npy                the word-embedding table encoder.onnx starts after
      build.json                              what it was built from, each file's size and sha256

`SentenceTransformer(folder)` loads it (and `backend="onnx"` where optimum is installed,
from `onnx/model.onnx`); rag's `e5-onnx` backend runs `onnx/encoder.onnx` on onnxruntime
and looks token rows up itself in the memory-mapped table. The table is 384 MB of the
model's 470: kept out of the session, a session loads in 0.25 s instead of 1.6 s and holds
about 120 MB instead of 570 (a query session and a document session no longer hold two
copies), and only the rows of tokens a corpus uses are ever read into memory; its output
equals model.onnx's exactly (tests/test_e5_port.py). Run `python -m rag.index.e5.export`
to build it ahead of time (`make install` does).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.config import models_dir
from rag.errors import EmbeddingModelError
from rag.index.e5.weights import SourceModel, default_source
from rag.index.storage import file_sha256

CONVERTER_VERSION = 2  # 2: the encoder without its word-embedding table, for the runtime
MANIFEST = "build.json"
ONNX_FULL = "onnx/model.onnx"  # the standard file, for sentence-transformers' ONNX backend
ONNX_FP32 = "onnx/encoder.onnx"
ONNX_INT8 = "onnx/encoder_qint8.onnx"
WORD_EMBEDDINGS = "onnx/word_embeddings.npy"
_CONVERTER_FILES = ("weights.py", "tokenizer.py", "model.py", "export.py")


def converter_digest() -> str:
    """Changes whenever the converter's code does, so a changed converter rebuilds."""
    digest = hashlib.sha256(str(CONVERTER_VERSION).encode())
    here = Path(__file__).parent
    for name in _CONVERTER_FILES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class SourceStamp:
    path: Path
    sha256: str


def source_stamp(path: Path | None = None, root: Path | None = None) -> SourceStamp:
    """The source file and its sha256. Hashing 70 MB on every cold start would cost ~0.2 s,
    so the hash is remembered next to the cache keyed by the file's size and mtime."""
    path = Path(path) if path is not None else default_source()
    try:
        st = path.stat()
    except OSError as exc:
        raise EmbeddingModelError(f"the e5 model file {path} is missing: {exc}") from exc
    memo = (root or models_dir()) / "e5-small" / "source-hashes.json"
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    try:
        known = json.loads(memo.read_text())
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    sha = known.get(key)
    if not isinstance(sha, str):
        sha = file_sha256(path)
        known[key] = sha
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            tmp = memo.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(known))
            os.replace(tmp, memo)
        except OSError:
            pass  # a read-only cache only costs the hash next time
    return SourceStamp(path, sha)


def folder_for(stamp: SourceStamp, root: Path | None = None) -> Path:
    return (root or models_dir()) / "e5-small" / f"{stamp.sha256[:16]}-{converter_digest()[:12]}"


def check_folder(folder: Path, stamp: SourceStamp) -> str | None:
    """Why `folder` is not a sound build of `stamp` (None when it is): the manifest must
    name this source and converter, and every file must have its recorded size; a file
    whose mtime moved is hashed again."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        return "not built"
    except (OSError, ValueError) as exc:
        return f"unreadable manifest ({exc})"
    if not isinstance(manifest, dict) or manifest.get("source_sha256") != stamp.sha256:
        return "built from another source file"
    if manifest.get("converter") != converter_digest():
        return "built by another converter version"
    files = manifest.get("files")
    if not isinstance(files, dict) or ONNX_FP32 not in files:
        return "manifest lists no files"
    for name, info in files.items():
        path = folder / name
        try:
            st = path.stat()
        except OSError:
            return f"{name} is missing"
        if st.st_size != info.get("size"):
            return f"{name} has {st.st_size} bytes, not {info.get('size')}"
        if st.st_mtime_ns != info.get("mtime_ns") and file_sha256(path) != info.get("sha256"):
            return f"{name} does not match its checksum"
    return None


_BUILD_LOCK = threading.Lock()


def ensure_model_folder(source: Path | None = None, root: Path | None = None, log=None) -> Path:
    """The built folder for the source file, building (or rebuilding a damaged one) first."""
    stamp = source_stamp(source, root)
    folder = folder_for(stamp, root)
    problem = check_folder(folder, stamp)
    if problem is None:
        return folder
    # one build at a time in a process: the query model warms in a thread while the reader is
    # built, and two threads importing transformers at once broke its lazy import
    # (ImportError: cannot import name 'XLMRobertaModel')
    with _BUILD_LOCK:
        problem = check_folder(folder, stamp)
        if problem is None:
            return folder
        if log:
            log(f"e5: building the model folder {folder} ({problem}); this takes a minute or two")
        build_model_folder(stamp, folder)
    problem = check_folder(folder, stamp)
    if problem is not None:
        raise EmbeddingModelError(f"e5: the model folder {folder} is unsound right after building: {problem}")
    return folder


def build_model_folder(stamp: SourceStamp, folder: Path) -> None:
    """Convert into a temp folder beside `folder`, then swap it in, so a reader never sees
    a half-written model and an interrupted build leaves only a temp folder behind."""
    source = SourceModel(stamp.path)
    if source.sha256 != stamp.sha256:
        raise EmbeddingModelError(f"{stamp.path} changed while the e5 model was being built; try again")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        write_folder(source, work)
        files = {}
        for path in sorted(p for p in work.rglob("*") if p.is_file()):
            st = path.stat()
            files[path.relative_to(work).as_posix()] = {
                "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": file_sha256(path)}
        manifest = {"source": str(stamp.path), "source_sha256": stamp.sha256,
                    "converter": converter_digest(), "converter_version": CONVERTER_VERSION,
                    "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": files}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1))
        work.chmod(0o755)  # mkdtemp makes it private; the model is not a secret
        if folder.exists():
            shutil.rmtree(folder)  # a damaged or stale build of the same key
        os.replace(work, folder)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    for old in folder.parent.iterdir():  # earlier builds of other sources or converters
        if old.is_dir() and old != folder and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- the folder's files


def write_folder(source: SourceModel, out: Path) -> None:
    import torch

    from rag.index.e5.model import build_encoder

    encoder = build_encoder(source)
    encoder.save_pretrained(out, safe_serialization=True)
    hf_tokenizer(source).save_pretrained(out)
    _write_sentence_transformers_modules(out, source.dims.positions)
    (out / "onnx").mkdir()
    with torch.no_grad():
        _export_onnx(encoder, out / ONNX_FULL)
        _export_onnx(encoder, out / ONNX_FP32, from_vectors=True)
    np.save(out / WORD_EMBEDDINGS, encoder.embeddings.word_embeddings.weight.detach().numpy())
    quantize_int8(out / ONNX_FP32, out / ONNX_INT8)


def _precompiled_charsmap(source: SourceModel) -> bytes:
    """The file's per-codepoint normalization map compiled into the trie format XLM-R's
    tokenizer.json uses (`Precompiled`). sentencepiece is the only public compiler of
    that format, and it compiles only while training, so a throwaway model is trained
    with the map as its custom rules and just its compiled map is kept."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.tsv"
        rules.write_text("".join(
            f"{cp:X}\t{' '.join(f'{o:X}' for o in out)}\n"
            for cp, out in sorted(source.vocabulary.normalization.items())))
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["throwaway text to train on"] * 20), model_writer=model,
            vocab_size=20, hard_vocab_limit=False, normalization_rule_tsv=str(rules),
            remove_extra_whitespaces=False, minloglevel=2)
    proto = sentencepiece_model_pb2.ModelProto()  # type: ignore[attr-defined]  # generated protobuf
    proto.ParseFromString(model.getvalue())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def hf_tokenizer(source: SourceModel):
    """XLMRobertaTokenizerFast with the file's vocabulary, scores and normalization: the
    same pipeline as the engine (map, collapse spaces, metaspace, unigram Viterbi)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import XLMRobertaTokenizerFast  # type: ignore[attr-defined]  # lazy export

    v = source.vocabulary
    vocab = [(piece, float(score)) for piece, score in zip(v.pieces, v.scores.tolist())]
    tok = Tokenizer(models.Unigram(vocab, unk_id=v.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(_precompiled_charsmap(source)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = v.pieces[v.bos], v.pieces[v.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, v.bos), (eos, v.eos)])
    mask = "<mask>" if "<mask>" in v.pieces else None
    return XLMRobertaTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, sep_token=eos, cls_token=bos,
        unk_token=v.pieces[v.unk], pad_token=v.pieces[v.pad], mask_token=mask,
        model_max_length=source.dims.positions)


def _write_sentence_transformers_modules(out: Path, max_positions: int) -> None:
    def dump(path: Path, data: dict | list) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))

    dump(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    dump(out / "sentence_bert_config.json", {"max_seq_length": max_positions, "do_lower_case": False})
    dump(out / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine"})
    dump(out / "1_Pooling" / "config.json", {
        "word_embedding_dimension": 384, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True})
    (out / "2_Normalize").mkdir(exist_ok=True)


def _export_onnx(encoder, path: Path, from_vectors: bool = False) -> None:
    """input_ids, attention_mask -> last_hidden_state; with `from_vectors`, the encoder from
    token vectors on (inputs_embeds: the word table's rows for input_ids) through position and
    type embeddings, layer norm and the 12 layers. Given those rows it computes what the first
    does (a real token's position is the same either way; a pad's differs, and pads are masked)."""
    import torch

    first = "inputs_embeds" if from_vectors else "input_ids"

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, tokens, attention_mask):
            return self.inner(**{first: tokens}, attention_mask=attention_mask).last_hidden_state

    ids = torch.tensor([[0, 35378, 4, 2], [0, 6, 2, 1]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.long)
    tokens = encoder.embeddings.word_embeddings.weight[ids].detach() if from_vectors else ids
    torch.onnx.export(
        LastHiddenState(encoder).eval(), (tokens, mask), str(path),
        input_names=[first, "attention_mask"], output_names=["last_hidden_state"],
        dynamic_axes={first: {0: "batch", 1: "sequence"},
                      "attention_mask": {0: "batch", 1: "sequence"},
                      "last_hidden_state": {0: "batch", 1: "sequence"}},
        opset_version=17, dynamo=False)


def quantize_int8(fp32: Path, int8: Path) -> None:
    """Dynamic int8 for the matrix products only, one scale per output channel (per-tensor
    scales measured cosine 0.988-0.991 to fp32, per-channel 0.997). The word-embedding table
    is not in the encoder: a lookup, not arithmetic, it stays fp32 in word_embeddings.npy."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                     per_channel=True)


def main(argv: list[str] | None = None) -> int:
    from rag.index.embedding import set_offline_env

    set_offline_env()
    try:
        folder = ensure_model_folder(log=lambda m: print(m, file=sys.stderr))
    except EmbeddingModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
