"""Stream frames: the answer cut into deltas, sent only to clients that ask for them."""

import json

import pytest
from channels.testing import WebsocketCommunicator

from chatbot.asgi import application
from conversations.streaming import stream_frames, text_chunks

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.mark.parametrize(
    "text", ["", "hola", "¡Hola! Soy Charla. ¿En qué te puedo ayudar hoy?", "  two\n\nparagraphs  ", "x" * 100]
)
def test_chunks_join_back_to_the_text(text):
    """Deltas lose nothing: concatenated they are the stored text, spaces and line breaks included."""
    assert "".join(text_chunks(text)) == text


def test_a_long_answer_is_cut_into_several_deltas_between_start_and_end():
    """start, deltas, end, all naming the message's seq."""
    message = {"type": "message", "seq": 4, "role": "bot", "reply_to": 3, "text": "word " * 40}
    frames = stream_frames(message)
    assert frames[0] == {"type": "stream.start", "seq": 4, "role": "bot", "reply_to": 3}
    assert frames[-1] == {"type": "stream.end", "seq": 4}
    deltas = frames[1:-1]
    assert len(deltas) > 3 and all(frame["type"] == "stream.delta" and frame["seq"] == 4 for frame in deltas)
    assert "".join(frame["text"] for frame in deltas) == message["text"]


async def _frames_until_message(communicator) -> list[dict]:
    frames = []
    while not frames or frames[-1]["type"] != "message":
        frames.append(json.loads(await communicator.receive_from(timeout=20)))
    return frames


@pytest.mark.django_db(transaction=True)
async def test_a_client_that_asks_for_streaming_gets_the_answer_streamed_then_whole(
    trained_demo_bot, answers_in_process
):
    """With ?stream=1: ack, typing, stream.start, deltas, stream.end, then the same full message frame as always."""
    communicator = WebsocketCommunicator(application, "/ws/chat/demo/?lang=en&stream=1", headers=[ORIGIN])
    assert (await communicator.connect(timeout=10))[0]
    await communicator.receive_from(timeout=10)  # session
    await communicator.send_to(text_data=json.dumps({"type": "message", "client_id": "s1", "text": "hello"}))
    frames = await _frames_until_message(communicator)
    types = [frame["type"] for frame in frames]
    assert types[:3] == ["ack", "typing", "stream.start"] and types[-2:] == ["stream.end", "message"]
    answer = frames[-1]
    assert answer["role"] == "bot" and answer["reply_to"] == 1
    deltas = [frame for frame in frames if frame["type"] == "stream.delta"]
    assert deltas and "".join(frame["text"] for frame in deltas) == answer["text"]
    assert {frame["seq"] for frame in frames[2:]} == {answer["seq"]}
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_client_that_does_not_ask_gets_no_stream_frames(trained_demo_bot, answers_in_process):
    """Without ?stream=1 the frames are exactly those of docs/protocol.md before streaming existed."""
    communicator = WebsocketCommunicator(application, "/ws/chat/demo/?lang=en", headers=[ORIGIN])
    assert (await communicator.connect(timeout=10))[0]
    await communicator.receive_from(timeout=10)
    await communicator.send_to(text_data=json.dumps({"type": "message", "client_id": "p1", "text": "hello"}))
    frames = await _frames_until_message(communicator)
    assert [frame["type"] for frame in frames] == ["ack", "typing", "message"]
    await communicator.disconnect()
