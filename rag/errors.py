"""The small family of exceptions the core raises; only the edges (CLI, UI) turn them into messages."""


class RagError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(RagError):
    """The configuration file or a value in it is invalid; the message names the key."""


class ArticleError(RagError):
    """One article file cannot be loaded; ingestion skips it and reports the reason."""


class IndexMismatchError(RagError):
    """The index was built with a different embedding model than the config asks for."""


class IndexMissingError(RagError):
    """There is no index yet (run `rag ingest`)."""


class IndexCorruptError(RagError):
    """The index on disk cannot be read or is inconsistent."""


class QuestionError(RagError):
    """The question is empty, too long, or otherwise unusable."""


class GenerationError(RagError):
    """The configured LLM failed or is not installed."""


class CorpusError(RagError):
    """The corpus folder itself is missing or unreadable."""


class IndexBusyError(RagError):
    """Another process holds the index (a running ingest, backup or restore)."""


class StorageError(RagError):
    """The disk under the data dir (or a backup folder) refused a read or write."""


class ReadOnlyStorageError(StorageError):
    """The folder is on a read-only file system or not writable by this user."""


class DiskFullError(StorageError):
    """No space left on the device holding the folder."""


class StoreUnavailableError(RagError):
    """The vector store server cannot be reached."""


class IngestRefusedError(RagError):
    """An ingest would empty or mostly empty the index; it needs --allow-empty or --prune."""


class BackupError(RagError):
    """A backup is incomplete, damaged or does not match its manifest."""


class RateLimitError(RagError):
    """One client asked for more of something (new conversations, votes) than a minute allows."""


class SessionDroppedError(RagError):
    """The server no longer holds this session's conversation (it made room for others)."""


class EmbeddingModelError(RagError):
    """The embedding model's source file is missing or damaged, or it cannot be converted."""
