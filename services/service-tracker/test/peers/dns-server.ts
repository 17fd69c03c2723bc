import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:net";

/** Records a test DNS server answers with, by lower-case name and type. */
export interface Zone {
  [name: string]: { A?: string[]; AAAA?: string[]; TXT?: string[]; MX?: { priority: number; exchange: string }[] };
}

/** How the server misbehaves for a name: garbage bytes, no answer, SERVFAIL, or truncated over UDP (then TCP). */
export type Quirk = "garbage" | "silent" | "servfail" | "truncate";

export interface TestDns {
  /** `127.0.0.1:<port>`, UDP and TCP on the same port. */
  server: string;
  zone: Zone;
  quirks: Record<string, Quirk>;
  /** Queries seen, as "udp|tcp name type". */
  queries: string[];
  close(): Promise<void>;
}

const TYPES: Record<number, string> = { 1: "A", 28: "AAAA", 16: "TXT", 15: "MX", 5: "CNAME", 2: "NS", 33: "SRV" };

/**
 * A tiny authoritative DNS server speaking the real wire format (RFC 1035) over UDP and TCP
 * (two-byte length prefix) on one port of 127.0.0.1.
 */
export async function startDns(zone: Zone = {}): Promise<TestDns> {
  // UDP picks a free port; TCP on the same one can be taken by another process meanwhile: then
  // both are closed (an open socket would keep the test process alive) and another port is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDnsOnce(zone);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 20) throw err;
    }
  }
}

async function startDnsOnce(zone: Zone): Promise<TestDns> {
  const udp: Socket = createSocket("udp4");
  await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
  const port = udp.address().port;
  const dns: TestDns = { server: `127.0.0.1:${port}`, zone, quirks: {}, queries: [], close: async () => undefined };
  udp.on("message", (msg, rinfo) => {
    const reply = answer(dns, msg, "udp");
    if (reply) udp.send(reply, rinfo.port, rinfo.address);
  });
  const tcp: Server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on("error", () => undefined);
    sock.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        const reply = answer(dns, msg, "tcp");
        if (!reply) continue;
        const framed = Buffer.alloc(2 + reply.length);
        framed.writeUInt16BE(reply.length, 0);
        reply.copy(framed, 2);
        sock.write(framed);
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(port, "127.0.0.1", () => {
        tcp.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    udp.close();
    tcp.close();
    throw err;
  }
  dns.close = async () => {
    udp.close();
    await new Promise<void>((r) => tcp.close(() => r()));
  };
  return dns;
}

function answer(dns: TestDns, msg: Buffer, via: "udp" | "tcp"): Buffer | null {
  if (msg.length < 12) return null;
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  let off = 12;
  const labels: string[] = [];
  while (off < msg.length && msg[off] !== 0) {
    const len = msg[off] as number;
    labels.push(msg.subarray(off + 1, off + 1 + len).toString("latin1"));
    off += 1 + len;
  }
  off += 1;
  const qtype = msg.readUInt16BE(off);
  const question = msg.subarray(12, off + 4);
  const name = labels.join(".").toLowerCase();
  const type = TYPES[qtype] ?? String(qtype);
  dns.queries.push(`${via} ${name} ${type}`);
  const quirk = dns.quirks[name];
  if (quirk === "silent") return null;
  if (quirk === "garbage") return Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n");
  const records = dns.zone[name];
  let rcode = records ? 0 : 3; // NOERROR, NXDOMAIN
  if (quirk === "servfail") rcode = 2;
  const truncated = quirk === "truncate" && via === "udp";
  const rdatas = rcode === 0 && !truncated ? encodeRecords(records, type) : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  // QR, the query's opcode and RD, AA, RA, TC when truncated, and the rcode.
  header.writeUInt16BE(0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | (truncated ? 0x0200 : 0) | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(rdatas.length, 6);
  const answers = rdatas.map((rdata) => {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // a pointer to the question's name
    rr.writeUInt16BE(qtype, 2);
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, question, ...answers]);
}

function encodeName(name: string): Buffer {
  return Buffer.concat([
    ...name
      .split(".")
      .filter(Boolean)
      .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "latin1")])),
    Buffer.from([0]),
  ]);
}

function encodeRecords(records: Zone[string] | undefined, type: string): Buffer[] {
  if (!records) return [];
  if (type === "A") return (records.A ?? []).map((ip) => Buffer.from(ip.split(".").map(Number)));
  if (type === "TXT")
    return (records.TXT ?? []).map((t) => Buffer.concat([Buffer.from([Buffer.byteLength(t)]), Buffer.from(t)]));
  if (type === "MX") {
    return (records.MX ?? []).map((m) => {
      const pref = Buffer.alloc(2);
      pref.writeUInt16BE(m.priority, 0);
      return Buffer.concat([pref, encodeName(m.exchange)]);
    });
  }
  return [];
}
