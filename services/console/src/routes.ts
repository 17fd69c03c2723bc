import type { MirrorConfig } from "@mirror/contracts";
import { replyError } from "@mirror/kit";
import type { FastifyInstance } from "fastify";
import { CLIENT_JS, CSS } from "./assets.js";
import { layout } from "./pages/layout.js";
import { notFoundPage } from "./pages/login.js";
import { apiRoutes } from "./routes-api.js";
import { extraRoutes } from "./routes-extra.js";
import { historyRoutes } from "./routes-history.js";
import { notificationRoutes } from "./routes-notifications.js";
import { pageRoutes } from "./routes-pages.js";
import { sessionRoutes } from "./routes-session.js";
import { setupRoutes } from "./routes-setup.js";
import { userRoutes } from "./routes-users.js";
import { type StateRef, securityHeaders } from "./state.js";

/** Everything the console serves; the routes answer 503 until start() has given them the state. */
export function consoleRoutes(http: FastifyInstance, config: MirrorConfig, state: StateRef): void {
  // HTML forms post urlencoded bodies; fastify parses only JSON by itself.
  http.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string", bodyLimit: 16 * 1024 },
    (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );
  http.addHook("onRequest", async (_req, reply) => {
    securityHeaders(reply);
    reply.header("cache-control", "no-store");
  });
  http.get("/assets/console.css", { config: { public: true } }, async (_req, reply) =>
    reply.type("text/css; charset=utf-8").header("cache-control", "max-age=300").send(CSS),
  );
  http.get("/assets/console.js", { config: { public: true } }, async (_req, reply) =>
    reply.type("text/javascript; charset=utf-8").header("cache-control", "max-age=300").send(CLIENT_JS),
  );
  // A mistyped address gets a page, not JSON (the API keeps its JSON 404).
  http.setNotFoundHandler(async (req, reply) => {
    if (req.url.startsWith("/api/"))
      return replyError(reply, "MIRROR_ERR_NOT_FOUND", `no ${req.method} ${req.url.split("?")[0]}`);
    return reply
      .code(404)
      .type("text/html; charset=utf-8")
      .send(layout({ title: "Not found", body: notFoundPage(`Nothing at ${req.url.split("?")[0]}.`) }));
  });
  sessionRoutes(http, config, state);
  setupRoutes(http, config, state);
  apiRoutes(http, state);
  pageRoutes(http, state);
  extraRoutes(http, state);
  notificationRoutes(http, state);
  userRoutes(http, state);
  historyRoutes(http, config, state);
}
