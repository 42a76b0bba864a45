"""Files: ``sendDocument``, ``sendPhoto``, ``sendVoice``, ``sendAudio`` (uploaded, or re-sent by
``file_id``) and ``getFile`` (the path a download reads)."""

from __future__ import annotations

import mimetypes
from typing import Any, Final

from tests.fakes.telegram.errors import ApiError, bad_request
from tests.fakes.telegram.limits import MAX_UPLOAD_BYTES
from tests.fakes.telegram.markup import reply_markup
from tests.fakes.telegram.methods.messages import caption_of, send, with_caption
from tests.fakes.telegram.params import chat_id, opt_str
from tests.fakes.telegram.state import State, StoredFile, UploadedFile

JSONDict = dict[str, Any]

_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
_IMAGE_MAGICS: Final = (_PNG_MAGIC, b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")
_FOLDERS: Final = {"photo": "photos", "voice": "voice", "audio": "music"}


def _upload(state: State, params: JSONDict, name: str) -> StoredFile:
    """The file in parameter ``name``: an upload (1 byte to 50 MB) or a known ``file_id``.
    An unknown ``file_id`` gets Telegram's 400, which Hirfa takes as "upload again"."""
    value = params.get(name)
    if isinstance(value, UploadedFile):
        if not value.content:
            raise bad_request("file must be non-empty")
        if len(value.content) > MAX_UPLOAD_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        mime = value.mime_type or mimetypes.guess_type(value.filename)[0]
        folder = _FOLDERS.get(name, "documents")
        return state.store_file(value.content, value.filename, mime, folder=folder)
    if isinstance(value, str) and value:
        if value in state.files:
            return state.files[value]
        raise bad_request("wrong file identifier/HTTP URL specified")
    raise bad_request(f"there is no {name} in the request")


def _looks_like_image(content: bytes) -> bool:
    if content.startswith(_IMAGE_MAGICS):
        return True
    return content[:4] == b"RIFF" and content[8:12] == b"WEBP"


def _image_size(content: bytes) -> tuple[int, int]:
    if content.startswith(_PNG_MAGIC) and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    return 800, 600


def send_document(state: State, params: JSONDict) -> JSONDict:
    chat = chat_id(params)
    raw, plain, entities = caption_of(state, params)
    markup = reply_markup(params)
    stored = _upload(state, params, "document")
    document: JSONDict = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.content),
    }
    if stored.filename:
        document["file_name"] = stored.filename
    document["mime_type"] = stored.mime_type or "application/octet-stream"
    return send(state, "sendDocument", params, chat,
                with_caption({"document": document}, plain, entities),
                text=raw, plain_text=plain, markup=markup, document=stored.content,
                filename=stored.filename, mime_type=document["mime_type"])


def send_photo(state: State, params: JSONDict) -> JSONDict:
    """A photo must be an image Telegram can read (400 ``IMAGE_PROCESS_FAILED`` else); the
    ``Message`` carries a thumbnail and the full size, like Telegram's."""
    chat = chat_id(params)
    raw, plain, entities = caption_of(state, params)
    markup = reply_markup(params)
    stored = _upload(state, params, "photo")
    if not _looks_like_image(stored.content):
        raise bad_request("IMAGE_PROCESS_FAILED")
    width, height = _image_size(stored.content)
    thumb_height = max(1, round(height * 90 / max(width, 1)))
    photo = [
        {
            "file_id": stored.file_id + "-thumb",
            "file_unique_id": stored.file_unique_id + "t",
            "width": 90,
            "height": thumb_height,
            "file_size": max(1, len(stored.content) // 10),
        },
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
            "file_size": len(stored.content),
        },
    ]
    return send(state, "sendPhoto", params, chat, with_caption({"photo": photo}, plain, entities),
                text=raw, plain_text=plain, markup=markup, document=stored.content,
                filename=stored.filename, mime_type=stored.mime_type)


def _send_audio(state: State, params: JSONDict, kind: str) -> JSONDict:
    chat = chat_id(params)
    raw, plain, entities = caption_of(state, params)
    markup = reply_markup(params)
    stored = _upload(state, params, kind)
    mime = stored.mime_type or ("audio/ogg" if kind == "voice" else "audio/mpeg")
    audio = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "duration": max(1, len(stored.content) // 2000),
        "mime_type": mime,
        "file_size": len(stored.content),
    }
    method = "sendVoice" if kind == "voice" else "sendAudio"
    return send(state, method, params, chat, with_caption({kind: audio}, plain, entities),
                text=raw, plain_text=plain, markup=markup, document=stored.content,
                filename=stored.filename, mime_type=mime)


def send_voice(state: State, params: JSONDict) -> JSONDict:
    """A voice note (OGG/Opus)."""
    return _send_audio(state, params, "voice")


def send_audio(state: State, params: JSONDict) -> JSONDict:
    """A music file (Hirfa's voice prompts that are not OGG)."""
    return _send_audio(state, params, "audio")


def get_file(state: State, params: JSONDict) -> JSONDict:
    """The ``File`` for a ``file_id``; its ``file_path`` is served under ``/file/bot<token>/``."""
    stored = state.files.get(opt_str(params, "file_id") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.content),
        "file_path": stored.file_path,
    }
