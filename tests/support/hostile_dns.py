#!/usr/bin/env python3
"""A misbehaving DNS server for fluxwatch's robustness tests (test-only, loopback only).

Serves UDP and TCP on one ephemeral port of --address (127.0.0.0/8 only), prints the port
on stdout once both sockets listen, and exits when its standard input closes (so it never
outlives the test that started it).

The behaviour is chosen by the first label of the query name, under hostile.test:
<case>.hostile.test. Anything else is REFUSED. The cases (see docs/hostile-dns.md):

  ok                 a normal answer: A 127.53.0.1, TTL 60
  silent             never answers
  wrong-id           answers only with a wrong query ID
  spoof              first a reply with a wrong ID (A 127.66.66.66), then the real answer
  short-header       a 5-byte reply (the query ID and 3 more bytes)
  count-high         ANCOUNT 3, one record present
  count-low          ANCOUNT 1, two records present
  pointer-loop       the answer's owner name is a compression pointer to itself
  forward-pointer    the answer's owner name points forward (into the additional section)
  long-label         the answer's owner name has a 64-byte label
  long-name          the answer's owner name is 321 bytes long
  huge-ttl           two A records with TTL 2^31 and 2^32-1
  empty              a zero-length UDP datagram
  empty-then-ok      a zero-length UDP datagram, then at once the answer (A 127.53.0.14)
  big-udp            a 65507-byte UDP datagram (the UDP maximum): a well-formed answer
  random             512 random bytes
  wrong-name         the answer's question is another name
  wrong-type         the answer's question is another type
  tc-reset           TC=1 over UDP; over TCP half of the answer, then a reset (SO_LINGER 0)
  tc-good            TC=1 over UDP; over TCP a good answer of 50 A records
  big-tcp            TC=1 over UDP; over TCP as many A records as fit in 65535 bytes
                     (the TCP maximum): 4093 for big-tcp.hostile.test
  servfail, refused, formerr, notimp   that RCODE (formerr carries OPT when asked with one)
  noedns             EDNS-intolerant: FORMERR without OPT to a query with OPT, else a
                     normal answer (A 127.53.0.2)
  tcp-noedns         TC=1 over UDP; over TCP like noedns (A 127.53.0.13)
"""
import argparse
import os
import selectors
import socket
import struct
import sys
import threading

ZONE = (b"hostile", b"test")
TYPE_A, TYPE_AAAA, TYPE_OPT = 1, 28, 41
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
POINTER_TO_QNAME = b"\xc0\x0c"  # the question name is always at offset 12


class Query:
    """The parts of a query the server needs; None from parse() if it is not one."""

    def __init__(self, data):
        self.raw = data
        self.id, self.flags, qdcount, _, _, arcount = struct.unpack(">HHHHHH", data[:12])
        if qdcount != 1:
            raise ValueError("not one question")
        pos, labels = 12, []
        while True:
            length = data[pos]
            if length == 0 or length >= 0x40:
                break
            labels.append(data[pos + 1 : pos + 1 + length].lower())
            pos += 1 + length
        if data[pos] != 0:
            raise ValueError("compressed question")
        pos += 1
        self.labels = labels
        self.qtype, self.qclass = struct.unpack(">HH", data[pos : pos + 4])
        self.question = data[12 : pos + 4]
        self.has_opt = False
        rest = pos + 4
        if arcount >= 1 and len(data) >= rest + 11:
            self.has_opt = data[rest] == 0 and struct.unpack(">H", data[rest + 1 : rest + 3])[0] == TYPE_OPT

    @classmethod
    def parse(cls, data):
        try:
            return cls(data)
        except (ValueError, IndexError, struct.error):
            return None

    @property
    def case(self):
        if len(self.labels) == 3 and tuple(self.labels[1:]) == ZONE:
            return self.labels[0].decode("ascii", "replace")
        return None


def header(query, rcode=NOERROR, qd=1, an=0, ns=0, ar=0, tc=False, qid=None):
    flags = 0x8000 | (query.flags & 0x7900) | 0x0400 | rcode  # QR, opcode+RD, AA
    if tc:
        flags |= 0x0200
    return struct.pack(">HHHHHH", query.id if qid is None else qid, flags, qd, an, ns, ar)


def a_record(address, ttl=60, owner=POINTER_TO_QNAME):
    return owner + struct.pack(">HHIH", TYPE_A, 1, ttl, 4) + socket.inet_aton(address)


def opt_record(size=1232):
    return b"\x00" + struct.pack(">HHIH", TYPE_OPT, size, 0, 0)


def encode_name(labels):
    return b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"


def answer(query, addresses, rcode=NOERROR, tc=False, ttl=60, qid=None):
    records = b"".join(a_record(a, ttl) for a in addresses)
    return header(query, rcode, an=len(addresses), tc=tc, qid=qid) + query.question + records


def many_a_records(query, limit):
    """A well-formed answer of as many A records as fit in `limit` bytes."""
    count = (limit - 12 - len(query.question)) // 16
    records = b"".join(
        a_record("127.54.%d.%d" % (i // 250, 1 + i % 250)) for i in range(count)
    )
    return header(query, an=count) + query.question + records


def reply(query, tcp):
    """The list of messages to send for `query` (empty: stay silent). Over TCP a message
    may be the marker ("reset", bytes): send those bytes, then reset the connection."""
    case = query.case
    if case is None:
        return [header(query, REFUSED) + query.question]
    if case == "ok":
        return [answer(query, ["127.53.0.1"])]
    if case == "silent":
        return []
    if case == "wrong-id":
        return [answer(query, ["127.66.66.66"], qid=query.id ^ 0x5A5A)]
    if case == "spoof":
        return [answer(query, ["127.66.66.66"], qid=query.id ^ 0x5A5A), answer(query, ["127.53.0.3"])]
    if case == "short-header":
        return [struct.pack(">H", query.id) + b"\x84\x00\x00"]
    if case == "count-high":
        return [header(query, an=3) + query.question + a_record("127.53.0.4")]
    if case == "count-low":
        return [header(query, an=1) + query.question + a_record("127.53.0.5") + a_record("127.53.0.6")]
    if case == "pointer-loop":
        start = 12 + len(query.question)
        owner = bytes([0xC0 | (start >> 8), start & 0xFF])  # points at itself
        return [header(query, an=1) + query.question + a_record("127.53.0.7", owner=owner)]
    if case == "forward-pointer":
        start = 12 + len(query.question)
        target = start + 16  # the owner of the additional record, after this record
        owner = bytes([0xC0 | (target >> 8), target & 0xFF])
        extra = encode_name(query.labels) + struct.pack(">HHIH", TYPE_A, 1, 60, 4) + bytes([127, 53, 0, 8])
        return [header(query, an=1, ar=1) + query.question + a_record("127.53.0.8", owner=owner) + extra]
    if case == "long-label":
        owner = bytes([64]) + b"x" * 64 + encode_name(query.labels)
        return [header(query, an=1) + query.question + a_record("127.53.0.9", owner=owner)]
    if case == "long-name":
        owner = encode_name([b"y" * 63] * 5)  # 5 x 64 + 1 = 321 bytes > 255
        return [header(query, an=1) + query.question + a_record("127.53.0.10", owner=owner)]
    if case == "huge-ttl":
        records = a_record("127.53.0.11", ttl=0x80000000) + a_record("127.53.0.12", ttl=0xFFFFFFFF)
        return [header(query, an=2) + query.question + records]
    if case == "empty":
        return [b""]
    if case == "empty-then-ok":
        return [b"", answer(query, ["127.53.0.14"])]
    if case == "big-udp":
        if tcp:
            return [many_a_records(query, 4096)]
        message = many_a_records(query, 65507)
        return [message + bytes(65507 - len(message))]  # padded to exactly the maximum
    if case == "random":
        return [os.urandom(512)]
    if case == "wrong-name":
        other = encode_name([b"other"] + list(ZONE)) + query.question[-4:]
        return [header(query, an=0) + other]
    if case == "wrong-type":
        other_type = TYPE_AAAA if query.qtype != TYPE_AAAA else TYPE_A
        return [header(query) + query.question[:-4] + struct.pack(">HH", other_type, query.qclass)]
    if case in ("tc-reset", "tc-good", "big-tcp"):
        if not tcp:
            return [header(query, tc=True) + query.question]
        if case == "big-tcp":
            return [many_a_records(query, 65535)]
        full = answer(query, ["127.55.0.%d" % i for i in range(1, 51)])
        return [("reset", full[: len(full) // 2])] if case == "tc-reset" else [full]
    rcodes = {"servfail": SERVFAIL, "refused": REFUSED, "formerr": FORMERR, "notimp": NOTIMP}
    if case in rcodes:
        opt = query.has_opt and case == "formerr"
        return [header(query, rcodes[case], ar=1 if opt else 0) + query.question + (opt_record() if opt else b"")]
    if case == "noedns":
        if query.has_opt:
            return [header(query, FORMERR) + query.question]
        return [answer(query, ["127.53.0.2"])]
    if case == "tcp-noedns":
        if not tcp:
            return [header(query, tc=True) + query.question]
        if query.has_opt:
            return [header(query, FORMERR) + query.question]
        return [answer(query, ["127.53.0.13"])]
    return [header(query, NXDOMAIN) + query.question]


def serve_tcp(connection):
    with connection:
        buffer = b""
        while True:
            try:
                data = connection.recv(65536)
            except OSError:
                return
            if not data:
                return
            buffer += data
            while len(buffer) >= 2 and len(buffer) >= 2 + struct.unpack(">H", buffer[:2])[0]:
                length = struct.unpack(">H", buffer[:2])[0]
                message, buffer = buffer[2 : 2 + length], buffer[2 + length :]
                query = Query.parse(message)
                if query is None:
                    continue
                for out in reply(query, tcp=True):
                    if isinstance(out, tuple):  # ("reset", partial bytes)
                        partial = out[1]
                        full_length = 2 * len(partial) + 1
                        connection.sendall(struct.pack(">H", full_length) + partial)
                        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        return  # closing with linger 0 sends RST
                    connection.sendall(struct.pack(">H", len(out)) + out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1")
    args = parser.parse_args()
    if not args.address.startswith("127."):
        parser.error("--address must be in 127.0.0.0/8")

    # One port for both transports: take an ephemeral UDP port, then TCP on the same one.
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        udp.bind((args.address, 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((args.address, port))
            break
        except OSError:
            udp.close()
            tcp.close()
    else:
        sys.exit("hostile_dns: no free port for both UDP and TCP")
    tcp.listen(64)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()

    selector = selectors.DefaultSelector()
    selector.register(udp, selectors.EVENT_READ, "udp")
    selector.register(tcp, selectors.EVENT_READ, "tcp")
    selector.register(sys.stdin, selectors.EVENT_READ, "stdin")
    while True:
        for key, _ in selector.select():
            if key.data == "stdin":
                if not sys.stdin.buffer.read1(4096):
                    return  # the test closed our stdin: stop
            elif key.data == "tcp":
                connection, _ = tcp.accept()
                threading.Thread(target=serve_tcp, args=(connection,), daemon=True).start()
            else:
                try:
                    data, peer = udp.recvfrom(65535)
                except OSError:
                    continue
                query = Query.parse(data)
                if query is None:
                    continue
                for out in reply(query, tcp=False):
                    try:
                        udp.sendto(out, peer)
                    except OSError:
                        pass


if __name__ == "__main__":
    main()
