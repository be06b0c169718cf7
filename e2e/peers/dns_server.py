"""An authoritative DNS server for tests (dnslib): answers TXT (and nothing else) from a JSON
zone file that the test rewrites while it runs, re-read on every query.

    python e2e/peers/dns_server.py <port> <zone.json>

zone.json: {"_rosetta-challenge.acme.example.": ["rosetta-verification=..."], ...}
A name in the file answers its TXT values (an empty list: NOERROR with no data); a name
absent answers NXDOMAIN; the name "servfail." (or a name listed under "__servfail__")
answers SERVFAIL. Listens on 127.0.0.1, UDP and TCP, and prints "listening" when it does.
"""

import json
import os
import sys
import time

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class ZoneFile(BaseResolver):
    def __init__(self, path):
        self.path = path

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).lower()
        try:
            with open(self.path, encoding="utf-8") as f:
                zone = json.load(f)
        except (OSError, ValueError):
            zone = {}
        if name in zone.get("__servfail__", []):
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if name not in zone:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        if request.q.qtype == QTYPE.TXT:
            for value in zone[name]:
                # One character-string holds at most 255 bytes: longer values are split.
                data = value.encode()
                parts = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(parts), ttl=0))
        return reply


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    resolver = ZoneFile(path)
    logger = DNSLogger(log="-request,-reply,-truncated,-data", prefix=False)
    servers = [
        DNSServer(resolver, address="127.0.0.1", port=port, tcp=False, logger=logger),
        DNSServer(resolver, address="127.0.0.1", port=port, tcp=True, logger=logger),
    ]
    for server in servers:
        server.start_thread()
    print("listening", flush=True)
    # The test kit stops reading after that line: later log lines go nowhere.
    sys.stdout = open(os.devnull, "w", encoding="utf-8")
    while all(s.isAlive() for s in servers):
        time.sleep(0.5)


if __name__ == "__main__":
    main()
