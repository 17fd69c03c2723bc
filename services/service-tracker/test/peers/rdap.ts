import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface FakeRdap {
  /** Base URL, e.g. http://127.0.0.1:PORT/rdap/ (what `domain.rdap` takes). */
  url: string;
  /** Expiry by domain; a domain not listed is a 404. `null`: registered, no expiration event. */
  domains: Record<string, string | null>;
  override: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  paths: string[];
  close(): Promise<void>;
}

/** An RDAP server fake answering `GET <base>/domain/<name>` with RFC 9083 JSON (application/rdap+json). */
export async function startRdap(domains: Record<string, string | null> = {}): Promise<FakeRdap> {
  const fake: FakeRdap = { url: "", domains, override: null, paths: [], close: async () => undefined };
  const server = createServer((req, res) => {
    fake.paths.push(req.url ?? "");
    if (fake.override) return fake.override(req, res);
    const m = /^\/rdap\/domain\/([^/?]+)$/.exec(req.url ?? "");
    const name = m ? decodeURIComponent(m[1] as string).toLowerCase() : "";
    if (!m || !Object.hasOwn(fake.domains, name)) {
      res.writeHead(404, { "content-type": "application/rdap+json" });
      res.end(JSON.stringify({ rdapConformance: ["rdap_level_0"], errorCode: 404, title: "Not Found" }));
      return;
    }
    const expiry = fake.domains[name];
    res.writeHead(200, { "content-type": "application/rdap+json" });
    res.end(
      JSON.stringify({
        rdapConformance: ["rdap_level_0", "icann_rdap_response_profile_0"],
        objectClassName: "domain",
        handle: `${name.toUpperCase()}-TEST`,
        ldhName: name,
        status: ["client transfer prohibited"],
        events: [
          { eventAction: "registration", eventDate: "2015-03-01T10:00:00Z" },
          ...(expiry ? [{ eventAction: "expiration", eventDate: expiry }] : []),
          { eventAction: "last update of RDAP database", eventDate: "2026-12-06T00:00:00Z" },
        ],
        entities: [
          {
            objectClassName: "entity",
            handle: "9999",
            roles: ["registrar"],
            vcardArray: [
              "vcard",
              [
                ["version", {}, "text", "4.0"],
                ["fn", {}, "text", "Test Registrar, Inc."],
              ],
            ],
          },
        ],
        nameservers: [{ objectClassName: "nameserver", ldhName: "ns1.example.net" }],
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  fake.url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/rdap/`;
  fake.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return fake;
}
