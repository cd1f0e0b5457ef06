"""Errors of the knowledge base; each subclasses an error of :mod:`apps.core.errors`."""

from __future__ import annotations

from apps.core.errors import GatewayError, NotFoundError, ValidationError


class DocumentNotFoundError(NotFoundError):
    """No live knowledge document has this id."""

    code = "document_not_found"


class DocumentVersionNotFoundError(NotFoundError):
    """The document has no stored version with this number."""

    code = "document_version_not_found"


class InvalidEmbeddingError(ValidationError):
    """A vector of the wrong length, with NaN or infinite values, or of zero length."""

    code = "invalid_embedding"


class InvalidQueryError(ValidationError):
    """A search request that cannot be run (empty query, k or weights out of range)."""

    code = "invalid_query"


class EmbedderUnavailableError(GatewayError):
    """The embedding provider failed or could not be reached after the retries."""

    code = "embedder_unavailable"
