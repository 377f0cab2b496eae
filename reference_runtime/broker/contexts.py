"""JSON-LD term expansion and compaction for the embedded broker, from bundled context files only.

A real broker runs a JSON-LD processor; what an NGSI-LD broker needs of it is much smaller: map the short
names of entity types, attribute and sub-attribute names to IRIs on the way in, and back on the way out, for
the context of each request. So this module keeps a term map per context set, built from the bundled files
(``sdmtool.resources.local_context_files()``) and never from the network: an unknown URL raises
:class:`ContextNotAvailable`, which the broker answers with ``LdContextNotAvailable``.

Rules kept from JSON-LD because they decide whether two requests see the same entity:
- the core context is always applied last, so a user term with a core name takes the core meaning;
- names no context defines expand with the core ``@vocab``, so a request without the right context looks
  for ``https://uri.etsi.org/ngsi-ld/default-context/MLModel`` and finds nothing, as on a real broker;
- terms of a ``@protected`` context (core 1.8) may be redefined later only identically;
- compaction picks the shortest term (then the lexicographically least), else ``prefix:suffix``, else the
  short name if the IRI lies under ``@vocab``, else the IRI itself.
Not implemented: scoped contexts, ``@base``, ``@language``, ``@reverse``, ``@nest``, value expansion.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from sdmtool import resources

CORE_CONTEXT_URL = resources.CORE_CONTEXT_URL
CORE_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
JSONLD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"

# Context definitions that carry no term: skipped when building the term map.
_IGNORED_KEYWORDS = frozenset(
    {"@version", "@protected", "@base", "@language", "@direction", "@propagate", "@import", "@vocab"}
)

ContextEntry = str | dict[str, Any]
# Bounds of the caches: every distinct name or inline context a client sends would otherwise stay forever.
_TERM_CACHE_LIMIT = 10_000
_ACTIVE_CACHE_LIMIT = 256


class ContextNotAvailable(Exception):
    """A context URL has no bundled copy (the broker never fetches it)."""

    def __init__(self, url: str, reason: str = "no local copy") -> None:
        super().__init__(f"@context {url!r} is not available ({reason})")
        self.url = url


class InvalidContext(Exception):
    """A context is malformed or redefines a protected term."""


@dataclass(frozen=True)
class _Definition:
    iri: str
    type: str | None = None
    container: str | None = None


@dataclass
class ActiveContext:
    """The term map of one context set."""

    terms: dict[str, _Definition]
    vocab: str
    entries: tuple[ContextEntry, ...]
    _reverse: dict[str, str] = field(default_factory=dict, repr=False)
    _prefixes: list[tuple[str, str]] = field(default_factory=list, repr=False)
    _compacted: dict[str, str] = field(default_factory=dict, repr=False)
    _expanded: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for term, definition in self.terms.items():
            iri = definition.iri
            if iri.startswith("@"):
                continue
            best = self._reverse.get(iri)
            if best is None or (len(term), term) < (len(best), best):
                self._reverse[iri] = term
            if iri.endswith(("/", "#", ":")) and ":" not in term:
                self._prefixes.append((term, iri))

    def expand(self, name: str) -> str:
        """IRI of a type or attribute name (a term, a compact IRI, an absolute IRI or an undefined name)."""
        cached = self._expanded.get(name)
        if cached is not None:
            return cached
        definition = self.terms.get(name)
        if definition is not None and not definition.iri.startswith("@"):
            iri = definition.iri
        elif ":" in name:
            prefix, suffix = name.split(":", 1)
            prefix_def = self.terms.get(prefix)
            if prefix_def is not None and not suffix.startswith("//") and not prefix_def.iri.startswith("@"):
                iri = prefix_def.iri + suffix
            else:
                iri = name  # already an absolute IRI (urn:…, https://…)
        else:
            iri = self.vocab + name
        if len(self._expanded) >= _TERM_CACHE_LIMIT:
            self._expanded.clear()  # names come from clients: the cache must not grow without end
        self._expanded[name] = iri
        return iri

    def compact(self, iri: str) -> str:
        cached = self._compacted.get(iri)
        if cached is not None:
            return cached
        result = self._compact(iri)
        if len(self._compacted) >= _TERM_CACHE_LIMIT:
            self._compacted.clear()
        self._compacted[iri] = result
        return result

    def _compact(self, iri: str) -> str:
        term = self._reverse.get(iri)
        if term is not None:
            return term
        best: str | None = None
        for prefix, prefix_iri in self._prefixes:
            if iri.startswith(prefix_iri) and len(iri) > len(prefix_iri):
                candidate = f"{prefix}:{iri[len(prefix_iri) :]}"
                if candidate not in self.terms and (best is None or len(candidate) < len(best)):
                    best = candidate
        if iri.startswith(self.vocab):
            short = iri[len(self.vocab) :]
            # Only if the short name reads back as the same IRI.
            if short and ":" not in short and short not in self.terms:
                return short
        return best if best is not None else iri


class ContextLoader:
    """Resolves context URLs to bundled documents and builds (cached) active contexts."""

    def __init__(
        self,
        files: Mapping[str, Path] | None = None,
        *,
        extra: Mapping[str, Path | Mapping[str, Any]] | None = None,
        lookup: Callable[[str], Any | None] | None = None,
    ) -> None:
        """``files``: URL -> bundled file (default: ``local_context_files()``); ``extra``: more URLs, to a
        file or an already loaded document; ``lookup``: last resort for URLs the broker hosts itself."""
        self._files: dict[str, Path] = dict(resources.local_context_files() if files is None else files)
        self._documents: dict[str, Mapping[str, Any]] = {}
        for url, source in (extra or {}).items():
            if isinstance(source, Mapping):
                self._documents[url] = source
            else:
                self._files[url] = Path(source)
        self._lookup = lookup
        self._file_cache: dict[Path, tuple[int, Any]] = {}
        self._active_cache: dict[bytes, ActiveContext] = {}
        self._lock = threading.Lock()

    def known_urls(self) -> list[str]:
        return sorted({*self._files, *self._documents})

    def is_available(self, url: str) -> bool:
        try:
            self.document(url)
        except ContextNotAvailable:
            return False
        return True

    def document(self, url: str) -> Any:
        """The ``@context`` value of the document behind ``url`` (any version of the core context: the
        bundled one)."""
        if url not in self._documents and url not in self._files and resources.is_core_context_url(url):
            url = CORE_CONTEXT_URL
        if url in self._documents:
            doc: Any = self._documents[url]
        elif url in self._files:
            doc = self._load_file(url, self._files[url])
        else:
            doc = self._lookup(url) if self._lookup is not None else None
            if doc is None:
                raise ContextNotAvailable(url)
        if isinstance(doc, Mapping) and "@context" in doc:
            return doc["@context"]
        raise ContextNotAvailable(url, "the document has no @context member")

    def _load_file(self, url: str, path: Path) -> Any:
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            raise ContextNotAvailable(url, f"bundled file {path.name} is missing") from None
        with self._lock:
            cached = self._file_cache.get(path)
            if cached is not None and cached[0] == mtime:
                return cached[1]
        try:
            doc = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ContextNotAvailable(url, f"bundled file {path.name} is unreadable: {exc}") from None
        with self._lock:
            self._file_cache[path] = (mtime, doc)
            # A changed file invalidates every active context built from it.
            self._active_cache.clear()
        return doc

    def active(self, entries: Sequence[ContextEntry] = ()) -> ActiveContext:
        """Active context for the user contexts ``entries`` (URLs or inline objects), core applied last."""
        key = orjson.dumps(list(entries))
        # Touch the files first: a changed mtime clears the cache before it is consulted.
        for entry in entries:
            if isinstance(entry, str):
                self.document(entry)
        self.document(CORE_CONTEXT_URL)
        with self._lock:
            cached = self._active_cache.get(key)
        if cached is not None:
            return cached
        builder = _Builder(self)
        for entry in entries:
            builder.apply(entry)
        builder.apply(CORE_CONTEXT_URL)
        active = ActiveContext(builder.terms, builder.vocab, tuple(entries))
        with self._lock:
            if len(self._active_cache) >= _ACTIVE_CACHE_LIMIT:
                self._active_cache.clear()  # inline contexts come from clients: bounded like the rest
            self._active_cache[key] = active
        return active

    def core(self) -> ActiveContext:
        return self.active(())


class _Builder:
    """Applies context definitions in order, as a JSON-LD processor would for the parts NGSI-LD uses."""

    def __init__(self, loader: ContextLoader) -> None:
        self.loader = loader
        self.terms: dict[str, _Definition] = {}
        self.protected: set[str] = set()
        self.vocab = CORE_VOCAB
        self._stack: list[str] = []

    def apply(self, value: Any) -> None:
        if value is None:
            # A null context resets every term that is not protected.
            self.terms = {t: d for t, d in self.terms.items() if t in self.protected}
            return
        if isinstance(value, str):
            if value in self._stack:
                return  # a context that (indirectly) includes itself
            self._stack.append(value)
            try:
                self.apply(self.loader.document(value))
            finally:
                self._stack.pop()
            return
        if isinstance(value, list):
            for item in value:
                self.apply(item)
            return
        if isinstance(value, Mapping):
            self._apply_object(value)
            return
        raise InvalidContext(f"a context must be a URL, an object or an array, not {type(value).__name__}")

    def _apply_object(self, ctx: Mapping[str, Any]) -> None:
        imported = ctx.get("@import")
        if isinstance(imported, str):
            self.apply(imported)
        vocab = ctx.get("@vocab")
        if isinstance(vocab, str):
            self.vocab = self._resolve(vocab, ctx, set())
        protected = ctx.get("@protected") is True
        for term, raw in ctx.items():
            if term in _IGNORED_KEYWORDS or term.startswith("@"):
                continue
            if raw is None:
                if term in self.protected:
                    raise InvalidContext(f"protected term redefinition: {term!r} cannot be cleared")
                self.terms.pop(term, None)
                continue
            definition = self._define(term, raw, ctx)
            term_protected = protected
            if isinstance(raw, Mapping) and isinstance(raw.get("@protected"), bool):
                term_protected = raw["@protected"]
            if term in self.protected and self.terms.get(term) != definition:
                raise InvalidContext(
                    f"protected term redefinition: {term!r} is defined by a protected context as "
                    f"{self.terms[term].iri}, not {definition.iri}"
                )
            self.terms[term] = definition
            if term_protected:
                self.protected.add(term)

    def _define(self, term: str, raw: Any, ctx: Mapping[str, Any]) -> _Definition:
        if isinstance(raw, str):
            return _Definition(self._resolve(raw, ctx, {term}))
        if isinstance(raw, Mapping):
            iri_raw = raw.get("@id")
            if iri_raw is None:
                iri = self._resolve(term, {}, {term}) if ":" in term else self.vocab + term
            elif isinstance(iri_raw, str):
                iri = self._resolve(iri_raw, ctx, {term})
            else:
                raise InvalidContext(f"@id of term {term!r} must be a string")
            type_raw = raw.get("@type")
            type_iri = self._resolve(type_raw, ctx, set()) if isinstance(type_raw, str) else None
            container = raw.get("@container")
            return _Definition(iri, type_iri, container if isinstance(container, str) else None)
        raise InvalidContext(f"definition of term {term!r} must be a string or an object")

    def _resolve(self, value: str, ctx: Mapping[str, Any], visiting: set[str]) -> str:
        """IRI of ``value`` inside a definition: a keyword, a term of this or an earlier context, a compact
        IRI whose prefix is such a term, an absolute IRI, or a name relative to ``@vocab``."""
        if value.startswith("@"):
            return value
        if value in ctx and value not in visiting:
            inner = ctx[value]
            target = inner.get("@id") if isinstance(inner, Mapping) else inner
            if isinstance(target, str):
                return self._resolve(target, ctx, visiting | {value})
        if value in self.terms and value not in ctx:
            return self.terms[value].iri
        if ":" in value:
            prefix, suffix = value.split(":", 1)
            if not suffix.startswith("//") and prefix not in visiting:
                if prefix in ctx:
                    inner = ctx[prefix]
                    target = inner.get("@id") if isinstance(inner, Mapping) else inner
                    if isinstance(target, str):
                        return self._resolve(target, ctx, visiting | {prefix}) + suffix
                elif prefix in self.terms:
                    return self.terms[prefix].iri + suffix
            return value
        return self.vocab + value
