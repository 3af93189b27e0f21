"""`ledger serve` sends an answer's head and body in one write to the socket
(service/server.BatchedWrites), and sends nothing after the connection closes."""

from __future__ import annotations

import asyncio

from service.server import BatchedWrites


class Transport:
    def __init__(self):
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str):
        return f"the transport's {name}"


def test_the_writes_of_one_step_of_the_loop_are_one_send_and_close_sends_what_is_pending():
    async def answer(transport: Transport) -> None:
        batched = BatchedWrites(transport, asyncio.get_running_loop())
        batched.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        batched.write(b"{}")
        assert transport.sent == []  # not yet: the step goes on
        await asyncio.sleep(0)
        assert transport.sent == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        batched.write(b"last words")
        batched.close()
        assert transport.sent[-1] == b"last words" and transport.closed
        batched.write(b"after the end")
        await asyncio.sleep(0)
        assert transport.sent[-1] == b"last words"
        assert batched.get_extra_info("peername") == "the transport's peername"

    asyncio.run(answer(Transport()))
