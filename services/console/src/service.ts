import { anyLoopEvent, anyNotifyOutcome, LOOP_EVENT_TYPES, NOTIFY_EVENT_TYPES, serviceStatus } from "@mirror/contracts";
import type { ConsoleConfig } from "@mirror/contracts";
import { ownUrlWithOffset, type ServiceSpec } from "@mirror/kit";
import { Counter, Gauge } from "prom-client";
import { LiveHub } from "./live.js";
import { LiveFeeds } from "./live-feed.js";
import { LoginLimit } from "./login-limit.js";
import { MeshClient } from "./mesh.js";
import { consoleRoutes } from "./routes.js";
import { SessionStore } from "./sessions.js";
import { SetupLink } from "./setup.js";
import { SiteStates } from "./sites.js";
import type { ConsoleState } from "./state.js";
import { userEndpoints } from "./users-endpoints.js";
import { TokenStore } from "./tokens.js";
import { UserStore } from "./users.js";

const EVENT_TYPE = /^mirror\.loop\.(opened|updated|closed)\./;

/** The console: the owner's page, reading and acting only through the mesh's endpoints and events. */
export function consoleSpec(): ServiceSpec {
  let state: ConsoleState | undefined;
  return {
    name: "console",
    description: "The owner's web console: loops, services, repos; logins and sessions",
    port: (c) => c.console.port,
    routes: (http, config) => consoleRoutes(http, config, () => state),
    start: async (ctx) => {
      // The loopback default moves with MIRROR_PORT_OFFSET, as the port it names does.
      const own = (c: typeof ctx.config.console) => ({
        ...c,
        publicUrl: ownUrlWithOffset(c.publicUrl, c.port, process.env),
      });
      const cfg = own(ctx.config.console);
      const now = () => ctx.clock.now();
      const users = new UserStore(ctx.store, now);
      const sessions = new SessionStore(ctx.store, cfg.sessionTtl, now);
      const liveEvents = new Counter({
        name: "mirror_console_live_events_total",
        help: "Events passed to the live pages' hub, by kind (loop and notify only while a page watches)",
        labelNames: ["kind"],
        registers: [ctx.registry],
      });
      const hub = new LiveHub(500, Date.now, (kind) => liveEvents.inc({ kind }));
      let tracker = ctx.config.tracker;
      const sites = new SiteStates(() => tracker);
      const tokens = new TokenStore(ctx.store, now);
      const setup = new SetupLink(ctx.store);
      const sso = cfg.trustedHeader ? { header: cfg.trustedHeader, proxies: cfg.trustedProxies } : undefined;
      if (sso && !sso.proxies.length)
        ctx.log.warn("console.trustedHeader is set but console.trustedProxies is empty: the header is never believed");
      // Loop events and delivery receipts only tell an open page to refresh: they are received
      // while a page watches (see LiveFeeds), not by durable consumers that cost CPU per event.
      const loopFeed = ctx.bus.watch(
        anyLoopEvent,
        (data, m) => {
          const type = (EVENT_TYPE.exec(m.subject)?.[1] ?? "updated") as "opened" | "updated" | "closed";
          hub.publish({ kind: "loop", type, loopId: data.loop.id, status: data.loop.status }, `ce:${m.id}`);
        },
        { types: LOOP_EVENT_TYPES },
      );
      ctx.bus.consume(
        serviceStatus,
        "console-services",
        async (data, m) => {
          // Two sites probing one check: show its first site's state, never flip between them.
          const view = sites.see(data);
          if (view) hub.publish({ id: m.streamSeq, kind: "service", name: data.name, ...view });
        },
        { deliverPolicy: "new" },
      );
      const notifyFeed = ctx.bus.watch(
        anyNotifyOutcome,
        (data, m) =>
          hub.publish(
            {
              kind: "notify",
              channel: data.channel,
              outcome: m.subject.startsWith("mirror.notify.failed.") ? "failed" : "sent",
            },
            `ce:${m.id}`,
          ),
        { types: NOTIFY_EVENT_TYPES },
      );
      const feeds = new LiveFeeds({ hub, feeds: [loopFeed, notifyFeed], now, log: ctx.log });
      new Gauge({
        name: "mirror_console_live_feeds_running",
        help: "1 while the loop and delivery feeds run (a live page watches, or did within the last 30 s)",
        registers: [ctx.registry],
        collect() {
          this.set(feeds.running ? 1 : 0);
        },
      });
      state = {
        users,
        sessions,
        tokens,
        setup,
        auth: {
          users,
          sessions,
          tokens,
          sso,
          cookie: { secure: cfg.publicUrl.startsWith("https:"), ttlMs: cfg.sessionTtl },
        },
        limit: new LoginLimit(ctx.store, cfg.loginAttempts, cfg.loginWindow),
        mesh: new MeshClient(ctx.bus, now),
        hub,
        sites,
        now,
        log: ctx.log,
        streams: new Set(),
        adapter: ctx.config.model.adapter,
        settings: cfg,
      };
      const live = state;
      ctx.watchConfig({
        restartOnly: ["console.port"],
        apply: (next) => {
          tracker = next.tracker;
          const c = own(next.console);
          const changed = changedKeys(live.settings ?? cfg, c);
          live.settings = c;
          live.auth.sso = c.trustedHeader ? { header: c.trustedHeader, proxies: c.trustedProxies } : undefined;
          live.auth.cookie.secure = c.publicUrl.startsWith("https:");
          live.auth.cookie.ttlMs = c.sessionTtl;
          live.sessions.ttl = c.sessionTtl;
          live.limit.configure(c.loginAttempts, c.loginWindow);
          live.adapter = next.model.adapter;
          if (c.trustedHeader && !c.trustedProxies.length)
            ctx.log.warn(
              "console.trustedHeader is set but console.trustedProxies is empty: the header is never believed",
            );
          return { changed, statusPages: c.statusPages.map((p) => p.slug) };
        },
      });
      if ((await users.count()) === 0) {
        const link = `${cfg.publicUrl.replace(/\/$/, "")}/setup?token=${await setup.issue()}`;
        ctx.log.warn(
          { setupUrl: link },
          `no console user yet: open ${link} within an hour to create the first admin (or: printf 'PASSWORD\\n' | pnpm mirror user add NAME --role admin --password-stdin)`,
        );
      }
      ctx.log.info({ url: cfg.publicUrl }, "console ready");
      const s = state;
      return {
        endpoints: userEndpoints(users, sessions, tokens, ctx.log),
        stop: async () => {
          feeds.stop();
          for (const res of s.streams) res.end();
        },
      };
    },
  };
}

/** The keys of the console section whose values differ. */
function changedKeys(before: ConsoleConfig, after: ConsoleConfig): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]) as Set<keyof ConsoleConfig>;
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}
