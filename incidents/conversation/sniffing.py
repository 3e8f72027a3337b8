"""What an uploaded file really is: its type sniffed from the bytes, images re-encoded, the name checked."""
from __future__ import annotations

import io
import unicodedata
import warnings
from dataclasses import dataclass

import filetype
from PIL import Image, ImageFile, UnidentifiedImageError

from kernel.errors import DomainError, InvalidInput

IMAGE_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
ALLOWED_TYPES = (*IMAGE_FORMATS, "application/pdf", "text/plain")
MAX_FILENAME = 255
# A photo of an ID is a few megapixels; far more is a decompression bomb.
MAX_PIXELS = 40_000_000


class FileTooLarge(DomainError):
    """The file is over the size limit."""

    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedFileType(DomainError):
    """The bytes are of a type the case does not take."""

    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class BadFile(InvalidInput):
    """A file refused for its name or its bytes; `reason` is one of name, empty, damaged."""

    def __init__(self, reason: str, message: str):
        super().__init__("file", message)
        self.extra["reason"] = reason


@dataclass(frozen=True)
class CleanFile:
    """A file fit to store: a checked name, the sniffed type and the bytes to keep."""

    filename: str
    content_type: str
    data: bytes


def clean_upload(*, filename: str | None, data: bytes, max_bytes: int) -> CleanFile:
    """Check the name, size and type of an upload; images come back re-encoded without their metadata."""
    name = checked_filename(filename)
    if len(data) > max_bytes:
        raise FileTooLarge(f"the file is larger than {max_bytes} bytes", errors={"file": [
            f"is larger than {max_bytes} bytes"]}, max_bytes=max_bytes)
    if not data:
        raise BadFile("empty", "is empty")
    content_type = sniff(data)
    if content_type in IMAGE_FORMATS:
        return CleanFile(name, content_type, reencode_image(data, IMAGE_FORMATS[content_type]))
    if content_type == "application/pdf":
        check_pdf(data)
    return CleanFile(name, content_type, data)


def checked_filename(filename: str | None) -> str:
    """The name as given, refused when it holds a path, control characters or is too long."""
    name = (filename or "").strip()
    if not name:
        raise BadFile("name", "has no file name")
    if len(name) > MAX_FILENAME:
        raise BadFile("name", f"file name is longer than {MAX_FILENAME} characters")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise BadFile("name", "file name must not contain a path")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn") for char in name):
        raise BadFile("name", "file name must not contain control characters")
    return unicodedata.normalize("NFC", name)


def sniff(data: bytes) -> str:
    """The type the bytes are, whatever the name or header said; 415 for anything not accepted."""
    kind = filetype.guess(data)
    if kind is not None:
        if kind.mime in ALLOWED_TYPES:
            return kind.mime
        raise _unsupported(kind.mime)
    if _is_plain_text(data):
        return "text/plain"
    raise _unsupported("application/octet-stream")


def _unsupported(found: str) -> UnsupportedFileType:
    """The refusal naming the type found."""
    allowed = ", ".join(ALLOWED_TYPES)
    return UnsupportedFileType(f"the file is {found}; accepted are {allowed}", found=found,
                               errors={"file": [f"is {found}, not one of {allowed}"]})


def _is_plain_text(data: bytes) -> bool:
    """UTF-8 text without control characters other than tab and line breaks."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(char) == "Cc" and char not in "\t\n\r\f" for char in text)


def reencode_image(data: bytes, image_format: str) -> bytes:
    """Decode the whole image and write it again: EXIF, GPS and any trailing payload do not survive."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Pillow's LOAD_TRUNCATED_IMAGES is process-wide and libraries set it (WeasyPrint does on import):
            # a cut-off upload must fail to decode here whatever another part of the process asked for.
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise BadFile("damaged", f"the image has more than {MAX_PIXELS} pixels")
                image.load()
                return _encode(image, image_format)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise BadFile("damaged", "is a damaged or truncated image") from exc


def _encode(image: Image.Image, image_format: str) -> bytes:
    """Write the pixels alone in the format (no info, no EXIF, no ICC profile carried over)."""
    if image_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    pixels = Image.frombytes(image.mode, image.size, image.tobytes())
    if image.mode == "P":
        pixels.putpalette(image.getpalette() or [])
    output = io.BytesIO()
    options = {"quality": 90} if image_format in ("JPEG", "WEBP") else {"optimize": False}
    pixels.save(output, format=image_format, **options)
    return output.getvalue()


def check_pdf(data: bytes) -> None:
    """A PDF starts with its header and ends with an end-of-file marker (a cut-off one does not)."""
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
        raise BadFile("damaged", "is a damaged or truncated PDF")
