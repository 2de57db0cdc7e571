"""A light load generator for the HTTP benchmarks.

The service, PostgreSQL, the broker and the load share two cores, so the load must cost as
little as it can: one asyncio thread, keep-alive connections, each request written as bytes
and each answer read by its Content-Length. (Sixteen threads of httpx cost the service
about a fifth of its throughput: their own CPU, and their contention for the GIL.)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # sent as JSON when not None

    def encode(self, host: str) -> bytes:
        body = b"" if self.body is None else json.dumps(self.body).encode()
        head = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
        if self.body is not None:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in self.headers.items()]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _connection(base_url: str, calls: list[Call], statuses: Counter) -> None:
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        for call in calls:
            writer.write(call.encode(url.netloc))
            status = int((await reader.readline()).split()[1])
            length = None
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length is None:
                raise RuntimeError("the load generator reads only answers with a Content-Length")
            await reader.readexactly(length)
            statuses[status] += 1
    finally:
        writer.close()


def run(base_urls: list[str], calls: list[Call], connections: int = 16) -> tuple[float, Counter]:
    """Send ``calls`` over ``connections`` keep-alive connections spread over ``base_urls`` (as a load
    balancer would spread them); returns the seconds it took and the count of each status."""
    statuses: Counter = Counter()

    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(
            *(_connection(base_urls[i % len(base_urls)], calls[i::connections], statuses) for i in range(connections))
        )
        return time.perf_counter() - start

    return asyncio.run(main()), statuses
