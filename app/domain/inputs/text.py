"""Free text members write: questions, outcome names, reasons, descriptions.

Text is cleaned rather than refused: control, format and zero-width characters are dropped and whitespace is
collapsed, so a name can't be faked empty, padded, or turned into something that renders differently.
"""

from __future__ import annotations

import re
import unicodedata

from app.domain.errors import ValidationError
from app.domain.limits import DESCRIPTION_MAX

__all__ = ["clean_description", "clean_line", "clean_text", "drop_invisible"]

# Invisible characters outside categories Cc/Cf that render as blank and are used to fake empty names.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0")
# Control (Cc), format (Cf: zero-width space/joiners, bidi controls, BOM, ...) and lone surrogates (Cs, which
# can't be encoded as UTF-8 and would break storage or the reply).
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
_SPACES = re.compile(" {2,}")


def drop_invisible(text: str) -> str:
    """Turn every whitespace character into a plain space and drop control, format and blank characters."""
    out: list[str] = []
    for char in text:
        if char.isspace():
            out.append(" ")
        elif char in _INVISIBLE or unicodedata.category(char) in _DROPPED_CATEGORIES:
            continue
        else:
            out.append(char)
    return "".join(out)


def clean_line(text: str) -> str:
    """`text` as one line: invisible characters dropped, whitespace collapsed, stripped. May be empty; never raises."""
    return _SPACES.sub(" ", drop_invisible(text)).strip()


def clean_text(text: str, *, max_length: int, field: str) -> str:
    """One line of member text: control/format/zero-width characters removed, whitespace collapsed, stripped.

    Raises if the result is empty or longer than `max_length` characters.
    """
    cleaned = clean_line(text)
    if not cleaned:
        raise ValidationError(f"The {field} can't be empty.")
    if len(cleaned) > max_length:
        raise ValidationError(f"The {field} can be at most {max_length} characters.")
    return cleaned


def clean_description(text: str, max_length: int = DESCRIPTION_MAX, *, field: str = "description") -> str:
    """Multi-line member text: like `clean_text`, but line breaks survive.

    Each line is cleaned and stripped; runs of blank lines become a single blank line (so paragraphs survive but
    a description can't be padded with empty lines); leading and trailing blank lines are removed. May be empty,
    in which case `""` is returned.
    """
    lines = [clean_line(line) for line in text.splitlines()]
    paragraphs: list[str] = []
    for line in lines:
        if line or (paragraphs and paragraphs[-1]):
            paragraphs.append(line)
    while paragraphs and not paragraphs[-1]:
        paragraphs.pop()
    cleaned = "\n".join(paragraphs)
    if len(cleaned) > max_length:
        raise ValidationError(f"The {field} can be at most {max_length} characters.")
    return cleaned
