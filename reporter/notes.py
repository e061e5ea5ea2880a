"""The author's notes: Markdown with tables and local images, never markup, never a fetch.

Notes are read once, when a report is rendered: every image must be a PNG or
JPEG file beside the notes file, at most 2 MB, and is embedded as a data URI
in the text itself. The notes a report keeps (and `verify` renders again) are
therefore self-contained, and rendering never reads a file the notes name.
Raw HTML is off, links survive only for http(s), and headings are shifted to
sit under the notes section's own heading.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

from .errors import ReporterError
from .rules import lint_notes

IMAGE_LIMIT = 2 * 1024 * 1024
# Decoded size: a small compressed file can unpack to gigabytes of pixels in the PDF engine.
PIXEL_LIMIT = 25_000_000
IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
# A file name beside the notes: no folder, no scheme, nothing to escape.
_LOCAL_IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(png|jpe?g)\Z", re.IGNORECASE)
_EMBEDDED = re.compile(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=]+\Z")


class NotesError(ReporterError):
    """Author notes use target, optimisation or ranking language (WR001)."""


def web_link(url: str) -> bool:
    """Whether a reference may become a link: http(s) only, and it is never fetched."""
    return url.strip().lower().startswith(("http://", "https://"))


def _parser() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.disable(["html_block", "html_inline"])
    return md


def read_notes(path: Path) -> str:
    """The author's notes with their images embedded; refused whole on target language (WR001) or a bad image."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ReporterError(f"{path}: cannot read the notes ({err})") from None
    offending = lint_notes(text)
    if offending:
        lines = "\n".join(f"{path}:{p.line}: WR001: {p.sentence} (the word {p.word!r})" for p in offending)
        raise NotesError(
            f"the notes use target, optimisation or ranking language (WR001); nothing was written:\n{lines}"
        )
    return _embed_images(text, path)


def _image_tokens(text: str) -> list[tuple[int, str]]:
    """(line, source) of every image in the notes."""
    found = []
    for block in _parser().parse(text):
        for child in block.children or []:
            if child.type == "image":
                found.append(((block.map or [0])[0] + 1, str(child.attrGet("src") or "")))
    return found


def _image_kind(data: bytes, where: str, shown: str) -> str:
    """The media type of an image the notes may show; refused unless a PNG or JPEG of bounded size.

    The same checks hold for a file beside the notes and for an image already embedded as a
    data: URI: its content is read, never its label, and its pixels are counted before any
    engine decodes it.
    """
    if len(data) > IMAGE_LIMIT:
        raise ReporterError(f"{where}: image {shown} is larger than 2 MB")
    kind = next((k for magic, k in IMAGE_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        raise ReporterError(f"{where}: image {shown} is not a PNG or JPEG file")
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                width, height = image.size
                detected = image.format
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        # Pillow's own limit lies far above ours: the image is over it either way.
        raise ReporterError(f"{where}: image {shown} has more than {PIXEL_LIMIT // 1_000_000} megapixels") from None
    except (OSError, ValueError):
        raise ReporterError(f"{where}: image {shown} is not a readable PNG or JPEG file") from None
    if detected not in ("PNG", "JPEG"):
        raise ReporterError(f"{where}: image {shown} is not a PNG or JPEG file")
    if width * height > PIXEL_LIMIT:
        raise ReporterError(f"{where}: image {shown} has {width}x{height} pixels, over "
                            f"{PIXEL_LIMIT // 1_000_000} megapixels")
    return kind


def check_embedded_images(text: str, path: str | Path) -> None:
    """Every image already embedded in notes (a kept copy, or an author's data: URI) passes the file checks."""
    for line, source in _image_tokens(text):
        if _EMBEDDED.match(source):
            _image_kind(_decoded(source, f"{path}:{line}"), f"{path}:{line}", "embedded as a data: URI")


def _decoded(source: str, where: str) -> bytes:
    encoded = source.partition(",")[2]
    if len(encoded) > IMAGE_LIMIT * 4 // 3 + 4:
        raise ReporterError(f"{where}: image embedded as a data: URI is larger than 2 MB")
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:
        raise ReporterError(f"{where}: image embedded as a data: URI is not valid base64") from None


def _embed_images(text: str, path: Path) -> str:
    lines = text.split("\n")
    for line, source in _image_tokens(text):
        where = f"{path}:{line}"
        if _EMBEDDED.match(source):
            # Already embedded (notes a report kept, or the author's own data: URI): checked like a file.
            _image_kind(_decoded(source, where), where, "embedded as a data: URI")
            continue
        if not _LOCAL_IMAGE.match(source):
            raise ReporterError(f"{where}: image {source[:80]!r} is not a PNG or JPEG file beside the notes; "
                                "notes show only such images, embedded, and never fetch one")
        image = path.parent / source
        try:
            data = image.read_bytes() if image.is_file() and image.stat().st_size <= IMAGE_LIMIT else None
        except OSError as err:
            raise ReporterError(f"{where}: cannot read image {source!r} ({err})") from None
        if data is None:
            raise ReporterError(f"{where}: image {source!r} is missing or larger than 2 MB")
        kind = _image_kind(data, where, repr(source))
        uri = f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
        # The image's own line (or the paragraph's first): the source is a plain file name, written as is.
        pattern = re.compile(r"\]\(\s*<?" + re.escape(source) + r">?")
        for index in range(line - 1, len(lines)):
            replaced = pattern.sub(lambda _m, uri=uri: "](" + uri, lines[index], count=1)  # type: ignore[misc]
            if replaced != lines[index]:
                lines[index] = replaced
                break
        else:  # a reference-style image: its definition may sit anywhere, so it is not rewritten
            raise ReporterError(f"{where}: write image {source!r} inline, as ![description]({source})")
    return "\n".join(lines)


def notes_html(text: str, first_level: int = 3) -> str:
    """Markdown to HTML: tables on, raw HTML off, links only http(s), images only embedded PNG or JPEG.

    A notes `#` heading becomes an h`first_level`, and deeper ones follow it (at most h6).
    """
    md = _parser()

    md.validateLink = lambda url: web_link(url) or bool(_EMBEDDED.match(url.strip()))

    def heading(renderer: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
        token = tokens[index]
        token.tag = f"h{min(6, int(token.tag[1]) + first_level - 1)}"
        return str(renderer.renderToken(tokens, index, options, env))

    def link(renderer: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
        # A data: URI is allowed for images only; as a link it is dropped and its text kept.
        token = tokens[index]
        if token.type == "link_open" and not web_link(str(token.attrGet("href") or "")):
            token.meta["dropped"] = True
            return ""
        if token.type == "link_close":
            opening = next((t for t in reversed(tokens[:index]) if t.type == "link_open" and t.level == token.level), None)
            if opening is not None and opening.meta.get("dropped"):
                return ""
        return str(renderer.renderToken(tokens, index, options, env))

    for rule in ("heading_open", "heading_close"):
        md.add_render_rule(rule, heading)
    for rule in ("link_open", "link_close"):
        md.add_render_rule(rule, link)
    return str(md.render(text))
