"""Telegram-flavoured HTML (``parse_mode="HTML"``): the only markup Hirfa sends.

:func:`parse_html` turns the text into what the user sees plus its entities, following tdlib's
``parse_html`` (the code behind the Bot API) down to its error messages, e.g.
``Unsupported start tag "p" at byte offset 0``. Lengths are checked on the parsed text.

One deliberate difference: a lone ``&`` (not ``&amp;``, ``&lt;``, ``&gt;``, ``&quot;`` or
``&#NN;``) is rejected. Telegram lets it through, but a lone ``&`` almost always means user text
was put in a message without ``html.escape`` (and the next user who types ``<`` breaks the
message). ``FakeBotAPI.strict_html_ampersand = False`` behaves like Telegram.
"""

from __future__ import annotations

from typing import Any, Final

from tests.fakes.telegram.errors import bad_request, parse_error
from tests.fakes.telegram.limits import utf16_len

JSONDict = dict[str, Any]

_HTML_ENTITY_TYPES: Final = {  # the tags Telegram accepts, and the entity each makes
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "a": "text_link",
}
_HTML_TAGS: Final = frozenset(_HTML_ENTITY_TYPES)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_html_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode ``&...;`` at ``pos`` like Telegram (tdlib ``decode_html_entity``).

    Returns ``(character, end)`` or ``(None, pos)`` if this ``&`` does not start an entity.
    """
    end = pos + 1
    if text.startswith("#", end):
        end += 1
        if text.startswith("x", end):
            end += 1
            start = end
            while end < len(text) and text[end] in "0123456789abcdefABCDEF":
                end += 1
            digits = text[start:end]
            code = int(digits, 16) if digits else 0
        else:
            start = end
            while end < len(text) and text[end].isascii() and text[end].isdigit():
                end += 1
            digits = text[start:end]
            code = int(digits) if digits else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None, pos
        if 0xD800 <= code <= 0xDFFF:
            raise parse_error(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        char = chr(code)
    else:
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(text[pos + 1 : end])
        if named is None:
            return None, pos
        char = named
    if text.startswith(";", end):
        end += 1
    return char, end


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-flavoured HTML into ``(plain_text, entities)``.

    Follows tdlib's ``parse_html`` (the code behind the Bot API), including its error messages,
    e.g. ``Unsupported start tag "p" at byte offset 0``. Raises :class:`ApiError` (400).
    """
    out: list[str] = []
    u16 = 0
    entities: list[JSONDict] = []
    # (tag, argument, utf16 offset where it started, index into ``out`` where it started)
    stack: list[tuple[str, str, int, int]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            decoded, end = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded)
                u16 += utf16_len(decoded)
                i = end
                continue
            if strict_ampersand:
                raise parse_error(
                    f'Unescaped "&" at byte offset {_byte_offset(text, i)}; write it as &amp; '
                    "(the fake is stricter than Telegram here, see tests/fakes/telegram/html.py)"
                )
        if char != "<":
            out.append(char)
            u16 += utf16_len(char)
            i += 1
            continue

        begin = i
        i += 1
        if not text.startswith("/", i):
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            if i >= n:
                raise parse_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            tag = text[begin + 1 : i].lower()
            where = f"at byte offset {_byte_offset(text, begin)}"
            if tag not in _HTML_TAGS:
                raise parse_error(f'Unsupported start tag "{tag}" {where}')
            argument = ""
            while True:
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise parse_error(f"Unclosed start tag {where}")
                if text[i] == ">":
                    break
                attr_begin = i
                while i < n and not text[i].isspace() and text[i] not in "=>":
                    i += 1
                attr = text[attr_begin:i].lower()
                if not attr:
                    raise parse_error(f'Empty attribute name in the tag "{tag}" {where}')
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise parse_error(f"Unclosed start tag {where}")
                if text[i] != "=":
                    if tag == "blockquote" and attr == "expandable":
                        continue
                    raise parse_error(
                        f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                        f"{where}"
                    )
                i += 1
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise parse_error(f'Unclosed start tag "{tag}" {where}')
                if text[i] in "'\"":
                    quote = text[i]
                    i += 1
                    value_chars: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            decoded, end = _decode_html_entity(text, i)
                            if decoded is not None:
                                value_chars.append(decoded)
                                i = end
                                continue
                        value_chars.append(text[i])
                        i += 1
                    if i >= n:
                        raise parse_error(f"Unclosed start tag {where}")
                    i += 1
                    value = "".join(value_chars)
                else:
                    token_begin = i
                    while i < n and (text[i].isalnum() or text[i] in ".-"):
                        i += 1
                    value = text[token_begin:i].lower()
                    if i < n and not text[i].isspace() and text[i] != ">":
                        raise parse_error(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(text, token_begin)}"
                        )
                if tag == "a" and attr == "href":
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attr == "emoji-id":
                    argument = value
            i += 1  # the ">"
            if tag == "span" and argument != "spoiler":
                raise parse_error(f'Tag "span" must have class "tg-spoiler" {where}')
            stack.append((tag, argument, u16, len(out)))
            continue

        # an end tag
        if not stack:
            raise parse_error(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        i += 1  # the "/"
        name_begin = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        end_tag = text[name_begin:i].lower()
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != ">":
            raise parse_error(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        i += 1
        tag, argument, start, out_start = stack[-1]
        if end_tag and end_tag != tag:
            raise parse_error(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{tag}>", found "</{end_tag}>"'
            )
        stack.pop()
        length = u16 - start
        if length <= 0:
            continue
        entity: JSONDict = {"type": _HTML_ENTITY_TYPES[tag], "offset": start, "length": length}
        if tag == "a":
            entity["url"] = argument or "".join(out[out_start:])
        elif tag == "tg-emoji":
            if not argument.isdigit() or int(argument) == 0:
                raise bad_request("Invalid custom emoji identifier specified")
            entity["custom_emoji_id"] = argument
        elif tag == "code" and argument:
            entity["language"] = argument  # only kept when wrapped in <pre>, see below
        elif tag == "pre" and entities:
            last = entities[-1]
            if (
                last["type"] == "code"
                and last["offset"] == start
                and last["length"] == length
                and last.get("language")
            ):
                entities.pop()
                entity["language"] = last["language"]
        entities.append(entity)
    if stack:
        raise parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities



def render(
    text: str, parse_mode: str | None, *, strict_ampersand: bool = True
) -> tuple[str, list[JSONDict]]:
    """Apply ``parse_mode`` like Telegram; returns ``(plain_text, entities)`` or raises 400.

    Only HTML is implemented (Hirfa sends nothing else); ``MarkdownV2`` and ``Markdown`` are
    refused so that a change to them fails loudly instead of going unchecked.
    """
    if not parse_mode:
        return text, []
    if parse_mode.lower() == "html":
        return parse_html(text, strict_ampersand=strict_ampersand)
    if parse_mode.lower() in ("markdown", "markdownv2"):
        raise bad_request(
            f"unsupported parse_mode {parse_mode!r}: the fake checks HTML only "
            "(tests/fakes/telegram/html.py)"
        )
    raise bad_request("unsupported parse_mode")
