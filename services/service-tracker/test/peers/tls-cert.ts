import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";
import { tempDir } from "@mirror/testkit";

/** A self-signed certificate for `localhost`/127.0.0.1 valid for `days`, made by the system `openssl`. */
export function selfSigned(days: number): { key: string; cert: string } {
  const dir = tempDir("mirror-tls-");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
      "-days",
      String(days),
      "-subj",
      "/CN=localhost/O=Mirror Test CA",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ],
    { stdio: "pipe" },
  );
  return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
}

/** A TLS server on 127.0.0.1 that completes the handshake and says hello, like an IMAPS greeting. */
export async function startTlsServer(pair: {
  key: string;
  cert: string;
}): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer(pair, (s) => {
    s.on("error", () => undefined);
    s.end("* OK IMAP4rev1 ready\r\n");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : 0,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
