import { anyLoopEvent, anyNotifyOutcome, LOOP_EVENT_TYPES, NOTIFY_EVENT_TYPES, serviceStatus } from "@mirror/contracts";
import type { ConsoleConfig } from "@mirror/contracts";
import { ownUrlWithOffset, type ServiceSpec } from "@mirror/kit";
import { LiveHub } from "./live.js";
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
      const hub = new LiveHub();
      let tracker = ctx.config.tracker;
      const sites = new SiteStates(() => tracker);
      const tokens = new TokenStore(ctx.store, now);
      const setup = new SetupLink(ctx.store);
      const sso = cfg.trustedHeader ? { header: cfg.trustedHeader, proxies: cfg.trustedProxies } : undefined;
      if (sso && !sso.proxies.length)
        ctx.log.warn("console.trustedHeader is set but console.trustedProxies is empty: the header is never believed");
      ctx.bus.consume(
        anyLoopEvent,
        "console",
        async (data, m) => {
          const type = (EVENT_TYPE.exec(m.subject)?.[1] ?? "updated") as "opened" | "updated" | "closed";
          hub.publish({ id: m.streamSeq, kind: "loop", type, loopId: data.loop.id, status: data.loop.status });
        },
        { types: LOOP_EVENT_TYPES, deliverPolicy: "new" },
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
      ctx.bus.consume(
        anyNotifyOutcome,
        "console-notify",
        async (data, m) =>
          hub.publish({
            id: m.streamSeq,
            kind: "notify",
            channel: data.channel,
            outcome: m.subject.startsWith("mirror.notify.failed.") ? "failed" : "sent",
          }),
        { types: NOTIFY_EVENT_TYPES, deliverPolicy: "new" },
      );
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
