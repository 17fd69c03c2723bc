import { type ErrorCode, HISTORY_WINDOWS, type HistoryWindow, type MirrorConfig } from "@mirror/contracts";
import { replyError } from "@mirror/kit";
import type { FastifyInstance, FastifyReply } from "fastify";
import { type BadgeKind, badgeSvg, shields } from "./badges.js";
import { ConsoleError } from "./errors.js";
import { historyClientOf } from "./history-client.js";
import { remoteError } from "./mesh.js";
import { type ConsoleState, guard, type StateRef } from "./state.js";
import type { Principal } from "./auth.js";
import { type Html, html } from "./html.js";
import { checkHistoryPage, repoHistoryPage, trendChart, trendPage } from "./pages/history.js";
import { layout } from "./pages/layout.js";
import { publicStatus, STATUS_CSS, statusPageHtml } from "./status-page.js";

const PUBLIC = { config: { public: true } } as const;
const BADGE_FILES: Record<string, BadgeKind | "shields"> = {
  "status.svg": "status",
  "uptime.svg": "uptime",
  "response.svg": "response",
  "shields.json": "shields",
};
const BADGE_KINDS: readonly BadgeKind[] = ["status", "uptime", "response"];
/** Public answers may be cached this long by browsers and badge proxies. */
const PUBLIC_MAX_AGE = "public, max-age=60";

function fail(reply: FastifyReply, code: ErrorCode, message: string, status?: number): FastifyReply {
  return replyError(reply.header("cache-control", "no-store"), code, message, status);
}

function windowOf(v: unknown, fallback: HistoryWindow): HistoryWindow {
  if (v === undefined || v === "") return fallback;
  if (typeof v === "string" && (HISTORY_WINDOWS as readonly string[]).includes(v)) return v as HistoryWindow;
  throw new ConsoleError("MIRROR_ERR_BAD_INPUT", `window must be one of ${HISTORY_WINDOWS.join(", ")}`);
}

function daysOf(v: unknown): number {
  if (v === undefined || v === "") return 90;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 90)
    throw new ConsoleError("MIRROR_ERR_BAD_INPUT", "days must be a whole number from 1 to 90");
  return n;
}

/** A ConsoleError as its status; a bus failure as the owner's refusal (4xx) or 503. */
function sendFailure(reply: FastifyReply, err: unknown): FastifyReply {
  const e = err instanceof ConsoleError ? err : remoteError(err, "history");
  return fail(reply, e.code, e.message, e.status);
}

const history = (s: ConsoleState) => historyClientOf(s.mesh, s.now);

function page(
  reply: FastifyReply,
  title: string,
  user: Principal,
  path: string,
  body: Html,
  status = 200,
): FastifyReply {
  return reply.code(status).type("text/html; charset=utf-8").send(layout({ title, user, path, body }));
}

/** A failed read as a page: the reason in a banner, with the status it deserves. */
function pageFailure(reply: FastifyReply, title: string, user: Principal, path: string, err: unknown): FastifyReply {
  const e = err instanceof ConsoleError ? err : remoteError(err, "history");
  return page(
    reply,
    title,
    user,
    path,
    html`<h1>${title}</h1><p class="banner error" role="status">${e.message}</p>`,
    e.status,
  );
}

/**
 * History in the console: `/api/checks/<name>/history`, `/api/trend` and `/api/repos/history` (or `/api/repos/<path>/history`)
 * behind the login like the rest of `/api/` (and their pages), and the public, opt-in `console.statusPages` (`/status/<slug>`, `.json`)
 * and badges of the checks on them (`/badge/<check>/...`); any other check is a 404.
 */
export function historyRoutes(http: FastifyInstance, config: MirrorConfig, state: StateRef): void {
  // Status pages follow config reloads: the list in force is read per request.
  const pagesNow = () => (state()?.settings ?? config.console).statusPages;

  http.get<{ Params: { name: string }; Querystring: { window?: string } }>(
    "/api/checks/:name/history",
    PUBLIC,
    async (req, reply) => {
      const ok = await guard(req, reply, state);
      if (!ok) return reply;
      try {
        const h = await history(ok.s).check(req.params.name, windowOf(req.query.window, "24h"));
        if (!h.known)
          return fail(reply, "MIRROR_ERR_NOT_FOUND", `no history for check ${JSON.stringify(req.params.name)}`);
        return {
          name: h.name,
          removed: h.removed,
          state: h.state,
          since: h.since,
          window: h.window,
          uptime: h.uptime,
          series: h.series,
          incidents: h.incidents,
        };
      } catch (err) {
        return sendFailure(reply, err);
      }
    },
  );

  http.get<{ Querystring: { days?: string } }>("/api/trend", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    try {
      return await history(ok.s).trend(daysOf(req.query.days));
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  http.get<{ Params: { name: string }; Querystring: { window?: string } }>(
    "/services/:name/history",
    PUBLIC,
    async (req, reply) => {
      const ok = await guard(req, reply, state);
      if (!ok) return reply;
      try {
        const h = await history(ok.s).check(req.params.name, windowOf(req.query.window, "24h"));
        if (!h.known)
          throw new ConsoleError("MIRROR_ERR_NOT_FOUND", `no history for check ${JSON.stringify(req.params.name)}`);
        return page(reply, `${h.name} history`, ok.p, "/services", checkHistoryPage(h, ok.s.now()));
      } catch (err) {
        return pageFailure(reply, "Check history", ok.p, "/services", err);
      }
    },
  );

  http.get<{ Querystring: { days?: string } }>("/trend", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    try {
      return page(reply, "Trend", ok.p, "/", trendPage(await history(ok.s).trend(daysOf(req.query.days))));
    } catch (err) {
      return pageFailure(reply, "Maintenance trend", ok.p, "/", err);
    }
  });

  // The trend chart alone, as an SVG document: the Overview shows it as an image linking to /trend.
  http.get<{ Querystring: { days?: string } }>("/trend.svg", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    try {
      const svg = trendChart(await history(ok.s).trend(daysOf(req.query.days)), true);
      return reply.type("image/svg+xml; charset=utf-8").header("cache-control", "private, max-age=60").send(svg.text);
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  http.get<{ Querystring: { repo?: string; days?: string } }>("/api/repos/history", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    try {
      if (!req.query.repo) throw new ConsoleError("MIRROR_ERR_BAD_INPUT", "repo is required: ?repo=<path>");
      return await history(ok.s).repo(req.query.repo, daysOf(req.query.days));
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  // The same with the repository in the path (its path URL-encoded, e.g. /api/repos/%2Fhome%2Fada%2Fsite/history).
  http.get<{ Params: { repo: string }; Querystring: { days?: string } }>(
    "/api/repos/:repo/history",
    PUBLIC,
    async (req, reply) => {
      const ok = await guard(req, reply, state);
      if (!ok) return reply;
      try {
        return await history(ok.s).repo(req.params.repo, daysOf(req.query.days));
      } catch (err) {
        return sendFailure(reply, err);
      }
    },
  );

  http.get<{ Querystring: { repo?: string; days?: string } }>("/repos/history", PUBLIC, async (req, reply) => {
    const ok = await guard(req, reply, state);
    if (!ok) return reply;
    try {
      if (!req.query.repo) throw new ConsoleError("MIRROR_ERR_BAD_INPUT", "repo is required: ?repo=<path>");
      return page(
        reply,
        "Repo history",
        ok.p,
        "/repos",
        repoHistoryPage(await history(ok.s).repo(req.query.repo, daysOf(req.query.days))),
      );
    } catch (err) {
      return pageFailure(reply, "Repo history", ok.p, "/repos", err);
    }
  });

  http.get("/status.css", PUBLIC, async (_req, reply) =>
    reply.type("text/css; charset=utf-8").header("cache-control", "max-age=300").send(STATUS_CSS),
  );

  http.get<{ Params: { slug: string } }>("/status/:slug", PUBLIC, async (req, reply) => {
    const json = req.params.slug.endsWith(".json");
    const slug = json ? req.params.slug.slice(0, -5) : req.params.slug;
    const page = pagesNow().find((p) => p.slug === slug);
    if (!page)
      return json
        ? fail(reply, "MIRROR_ERR_NOT_FOUND", "no such status page")
        : reply.code(404).type("text/plain; charset=utf-8").send("no such status page\n");
    const s = state();
    if (!s) return fail(reply, "MIRROR_ERR_STARTING", "the console is starting");
    try {
      const body = publicStatus(page, await history(s).status(page.checks, 90));
      reply.header("cache-control", PUBLIC_MAX_AGE);
      if (json) return reply.header("access-control-allow-origin", "*").send(body);
      return reply.type("text/html; charset=utf-8").send(statusPageHtml(page, body));
    } catch (err) {
      return sendFailure(reply, err);
    }
  });

  http.get<{ Params: { check: string; file: string }; Querystring: { window?: string; kind?: string } }>(
    "/badge/:check/:file",
    PUBLIC,
    async (req, reply) => {
      const file = BADGE_FILES[req.params.file];
      // A check on no status page is answered exactly like an unknown one: nothing says it exists.
      if (!file || !pagesNow().some((p) => p.checks.includes(req.params.check)))
        return fail(reply, "MIRROR_ERR_NOT_FOUND", "no such badge");
      const s = state();
      if (!s) return fail(reply, "MIRROR_ERR_STARTING", "the console is starting");
      try {
        const kind = file === "shields" ? req.query.kind || "status" : file;
        if (!BADGE_KINDS.includes(kind as BadgeKind))
          throw new ConsoleError("MIRROR_ERR_BAD_INPUT", `kind must be one of ${BADGE_KINDS.join(", ")}`);
        const window = windowOf(req.query.window, "30d");
        const [summary] = await history(s).status([req.params.check], 1);
        if (!summary) return fail(reply, "MIRROR_ERR_NOT_FOUND", "no such badge");
        const badge = shields(summary, kind as BadgeKind, window);
        reply.header("cache-control", PUBLIC_MAX_AGE);
        if (file === "shields") return reply.header("access-control-allow-origin", "*").send(badge);
        return reply.type("image/svg+xml; charset=utf-8").send(badgeSvg(badge));
      } catch (err) {
        return sendFailure(reply, err);
      }
    },
  );
}
