"""Stream frames for a stored answer: the text cut into deltas a client can reveal progressively.

Answers are stored whole before they are published, so streaming costs no extra latency: every frame is sent
at once and the client paces the reveal. The full `message` frame always follows, for clients that ignore these.
"""

import re
from typing import Any

DELTA_CHARS = 24
_WORDS = re.compile(r"\s*\S+\s*|\s+")


def text_chunks(text: str, *, size: int = DELTA_CHARS) -> list[str]:
    """Cut at word boundaries into chunks of about `size` characters; they join back to `text` exactly."""
    chunks: list[str] = []
    current = ""
    for word in _WORDS.findall(text):
        if current and len(current) + len(word) > size:
            chunks.append(current)
            current = ""
        current += word
    if current:
        chunks.append(current)
    return chunks


def stream_frames(message: dict[str, Any]) -> list[dict[str, Any]]:
    """stream.start, one stream.delta per chunk, stream.end, for a `message` frame (the frame itself not included)."""
    seq = message["seq"]
    start = {"type": "stream.start", "seq": seq, "role": message.get("role")}
    if message.get("reply_to") is not None:
        start["reply_to"] = message["reply_to"]
    deltas = [{"type": "stream.delta", "seq": seq, "text": chunk} for chunk in text_chunks(message.get("text") or "")]
    return [start, *deltas, {"type": "stream.end", "seq": seq}]
