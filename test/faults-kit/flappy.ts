// A real HTTP service the tracker checks, which the test turns down and up.
import { createServer } from "node:http";

export interface Flappy {
  url: string;
  up: boolean;
  close(): Promise<void>;
}

export async function startFlappy(): Promise<Flappy> {
  const state = { up: true };
  // Down is unreachable (the connection is dropped), which the tracker calls down; a 5xx answer would be degraded.
  const server = createServer((req, res) => {
    if (!state.up) return void req.socket.destroy();
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/health`,
    get up() {
      return state.up;
    },
    set up(v: boolean) {
      state.up = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
