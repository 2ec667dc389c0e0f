"""Content-Encoding undone within a size limit: a page gzipped from 1 GB of zeros is 1 MB
on the wire, and inflating it whole takes the crawler's memory with it.

Every decoder here is streamed and bounded: it never holds more than one chunk of output
beyond what the caller keeps, so the crawl (counting a body's decoded size as it arrives,
and decoding it) and everything at rest (reading an archived body back) stop at a limit.
Codings without a bounded decoder in this environment are not advertised and not decoded:
the Brotli module of ``brotlipy``, which can shadow Google's, inflates a whole input at once.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import brotli

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

#: Output is produced this much at a time, so that a limit is never overshot by more.
CHUNK = 64 * 1024
#: The decoded size of a page, however it was sent: no news page comes near it, and a
#: body past it is a bomb or not a page (the crawl's STORYCRAWL_MAX_DECODED_SIZE default).
DEFAULT_LIMIT = 10 * 1024 * 1024
#: Google's Brotli module bounds its output (``process(..., output_buffer_limit=)``);
#: brotlipy's, under the same import name, does not.
BROTLI_BOUNDED = hasattr(brotli, "Decompressor") and hasattr(brotli.Decompressor, "process")
#: The codings decoded here, in the order a request's Accept-Encoding lists them.
ACCEPTED = ("gzip", "deflate", *(("br",) if BROTLI_BOUNDED else ()), "zstd")
_ERRORS: tuple[type[Exception], ...] = (zlib.error, zstd.ZstdError, EOFError, brotli.error)


class UnsupportedCoding(ValueError):
    """A Content-Encoding this module does not decode (the body is left coded)."""


class TooLarge(ValueError):
    """A body that decodes past the limit: a bomb, or no page to read."""


class _Stage(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...


class _Zlib:
    """gzip (several members too) and deflate (zlib-wrapped or, as some servers send it,
    raw)."""

    def __init__(self, coding: str):
        self.gzip = coding in ("gzip", "x-gzip")
        self.first = True
        self.decoder = self._new()

    def _new(self, raw: bool = False) -> zlib._Decompress:
        return zlib.decompressobj(-zlib.MAX_WBITS if raw else 32 + zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            if self.decoder.eof:
                data = self.decoder.unused_data + data
                if not (self.gzip and data.startswith(b"\x1f\x8b")):
                    return  # trailing bytes after the stream are not part of it
                self.decoder = self._new()
            try:
                out = self.decoder.decompress(data, CHUNK)
            except zlib.error:
                if not self.first or self.gzip:
                    raise
                self.decoder = self._new(raw=True)  # deflate without its zlib wrapper
                out = self.decoder.decompress(data, CHUNK)
            self.first = False
            # Past the end of a member the rest is in unused_data (read at the loop's top).
            data = b"" if self.decoder.eof else self.decoder.unconsumed_tail
            if out:
                yield out
            elif not data and not self.decoder.eof:
                return  # all input taken: more is needed


class _Zstd:
    def __init__(self) -> None:
        self.decoder = zstd.ZstdDecompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            if self.decoder.eof:  # a next frame may follow
                data = self.decoder.unused_data + data
                if not data:
                    return
                self.decoder = zstd.ZstdDecompressor()
            out = self.decoder.decompress(data, CHUNK)
            data = b""
            if out:
                yield out
            elif self.decoder.needs_input:
                return


class _Brotli:
    def __init__(self) -> None:
        self.decoder = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        while not self.decoder.is_finished():
            out = self.decoder.process(data, output_buffer_limit=CHUNK)
            data = b""
            if out:
                yield out
            elif self.decoder.can_accept_more_data():
                return


def codings_of(values: Iterable[str]) -> list[str]:
    """The codings of Content-Encoding header values, in the order they were applied."""
    codings = [c.strip().lower() for value in values for c in value.split(",")]
    return [c for c in codings if c and c != "identity"]


class Decoding:
    """A body's codings undone as its bytes come in (push: ``feed`` each piece received)."""

    def __init__(self, codings: list[str]):
        stages: list[_Stage] = []
        for coding in reversed(codings):  # the last applied is the first undone
            if coding in ("gzip", "x-gzip", "deflate"):
                stages.append(_Zlib(coding))
            elif coding == "zstd":
                stages.append(_Zstd())
            elif coding == "br" and BROTLI_BOUNDED:
                stages.append(_Brotli())
            else:
                raise UnsupportedCoding(f"no bounded decoder for Content-Encoding {coding!r}")
        self.stages = stages

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded output of one more piece of the body, a chunk at a time; the caller
        may stop reading at any point. A corrupt body raises ValueError."""
        try:
            yield from self._through(0, data)
        except _ERRORS as exc:
            raise ValueError(f"corrupt coded body: {exc}") from None

    def _through(self, stage: int, data: bytes) -> Iterator[bytes]:
        if stage == len(self.stages):
            yield data
            return
        for piece in self.stages[stage].feed(data):
            yield from self._through(stage + 1, piece)


@dataclass(frozen=True)
class Decoded:
    body: bytes
    over_limit: bool  # the decoded body went past the limit: ``body`` is its first bytes
    corrupt: bool = False  # decoding stopped at an error: ``body`` is what came before it


def decode(body: bytes, codings: list[str], limit: int) -> Decoded:
    """The body with its codings undone, at most ``limit`` bytes of it (0: no limit).
    UnsupportedCoding when a coding has no bounded decoder here."""
    decoding = Decoding(codings)
    out = bytearray()
    try:
        for piece in decoding.feed(body):
            if limit and len(out) + len(piece) > limit:
                out += piece[: limit - len(out)]
                return Decoded(bytes(out), over_limit=True)
            out += piece
    except ValueError:
        return Decoded(bytes(out), over_limit=False, corrupt=True)
    return Decoded(bytes(out), over_limit=False)


class SizeMeter:
    """Counts a body's decoded size as its coded bytes arrive, keeping none of it: tells,
    mid-download, that a body will decode past a limit."""

    def __init__(self, codings: list[str], limit: int):
        self.decoding = Decoding(codings)
        self.limit = limit
        self.size = 0

    def over_limit(self, data: bytes) -> bool:
        """Whether the body, with this piece, decodes past the limit (a corrupt body is
        left to whoever decodes it)."""
        try:
            for piece in self.decoding.feed(data):
                self.size += len(piece)
                if self.size > self.limit:
                    return True
        except ValueError:
            return False
        return False
