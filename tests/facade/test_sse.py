"""SSE framing and heartbeats: a quiet stream still talks, a finished one stops cleanly."""

from __future__ import annotations

import asyncio
import json

from matriz.facade.sse import DONE, HEARTBEAT, encode_event, with_heartbeats


async def _slow_source(delays: list[float]):
    for i, delay in enumerate(delays):
        await asyncio.sleep(delay)
        yield encode_event({"n": i})


def _collect(source, interval: float) -> list[bytes]:
    async def run() -> list[bytes]:
        return [chunk async for chunk in with_heartbeats(source, interval=interval)]

    return asyncio.run(run())


def test_it_sends_comment_heartbeats_while_the_answer_is_slow():
    chunks = _collect(_slow_source([0.0, 0.35, 0.0]), interval=0.1)
    data = [c for c in chunks if c != HEARTBEAT]
    assert [json.loads(c.decode().removeprefix("data: ")) for c in data] == [
        {"n": 0},
        {"n": 1},
        {"n": 2},
    ]
    # Between the first and second chunk 0.35 s passed: at least two beats.
    first, second = chunks.index(data[0]), chunks.index(data[1])
    assert chunks[first + 1 : second].count(HEARTBEAT) >= 2
    assert HEARTBEAT.startswith(b":")  # a comment: SSE clients ignore it


def test_it_sends_no_heartbeat_when_the_stream_keeps_flowing():
    chunks = _collect(_slow_source([0.0] * 20), interval=0.5)
    assert HEARTBEAT not in chunks
    assert len(chunks) == 20


def test_it_cancels_the_source_when_the_client_goes_away():
    finished = []

    async def source():
        try:
            yield b"data: 1\n\n"
            await asyncio.sleep(10)
            yield b"data: 2\n\n"
        finally:
            finished.append(True)

    async def run() -> None:
        stream = with_heartbeats(source(), interval=0.05)
        assert await stream.__anext__() == b"data: 1\n\n"
        assert await stream.__anext__() == HEARTBEAT
        await stream.aclose()  # what the server does when the client disconnects
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert tasks == []

    asyncio.run(run())
    assert finished == [True]


def test_it_frames_events_as_the_sdk_reads_them():
    assert encode_event({"a": 1}, event="response.created") == (
        b'event: response.created\ndata: {"a":1}\n\n'
    )
    assert encode_event("[DONE]") == DONE
