"""The peer of the CC benchmarks: a bare aiohttp server answering prebuilt bodies (the framework's
floor: same HTTP stack, no auth, no state, no journal) and a plain websocket broadcaster."""

from __future__ import annotations

import asyncio
import sys

import orjson
from aiohttp import web


def app(quote_body: bytes, order_body: bytes) -> web.Application:
    clients: set[web.WebSocketResponse] = set()

    async def quote(request: web.Request) -> web.Response:
        return web.Response(body=quote_body, content_type="application/json")

    async def order(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=order_body, status=201, content_type="application/json")

    async def stream(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        clients.add(ws)
        async for _ in ws:
            pass
        clients.discard(ws)
        return ws

    async def burst(request: web.Request) -> web.Response:
        n = int(request.query["n"])
        for i in range(n):
            msg = orjson.dumps({"channel": "orders", "data": {"i": i}}).decode()
            for c in list(clients):
                await c.send_str(msg)
        return web.Response(text="ok")

    a = web.Application()
    a.router.add_get("/quote", quote)
    a.router.add_post("/order", order)
    a.router.add_get("/stream", stream)
    a.router.add_post("/burst", burst)
    return a


async def main(port_file: str, quote_file: str, order_file: str) -> None:
    with open(quote_file, "rb") as f:
        q = f.read()
    with open(order_file, "rb") as f:
        o = f.read()
    runner = web.AppRunner(app(q, o), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    with open(port_file + ".tmp", "w") as f:
        f.write(str(site._server.sockets[0].getsockname()[1]))
    import os
    os.replace(port_file + ".tmp", port_file)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
