import { anyLoopEvent, LOOP_EVENT_TYPES } from "@mirror/contracts";
import type { ServiceSpec } from "@mirror/kit";
import { LiveHub } from "./live.js";
import { LoginLimit } from "./login-limit.js";
import { MeshClient } from "./mesh.js";
import { consoleRoutes } from "./routes.js";
import { SessionStore } from "./sessions.js";
import type { ConsoleState } from "./state.js";
import { userEndpoints } from "./users-endpoints.js";
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
      const cfg = ctx.config.console;
      const now = () => ctx.clock.now();
      const users = new UserStore(ctx.store, now);
      const sessions = new SessionStore(ctx.store, cfg.sessionTtl, now);
      const hub = new LiveHub();
      ctx.bus.consume(
        anyLoopEvent,
        "console",
        async (data, m) => {
          const type = (EVENT_TYPE.exec(m.subject)?.[1] ?? "updated") as "opened" | "updated" | "closed";
          hub.publish({ id: m.streamSeq, type, loopId: data.loop.id, status: data.loop.status });
        },
        { types: LOOP_EVENT_TYPES, deliverPolicy: "new" },
      );
      state = {
        users,
        sessions,
        limit: new LoginLimit(ctx.store, cfg.loginAttempts, cfg.loginWindow),
        mesh: new MeshClient(ctx.bus, now),
        hub,
        now,
        log: ctx.log,
        streams: new Set(),
        adapter: ctx.config.model.adapter,
      };
      if ((await users.count()) === 0) ctx.log.warn("no console user yet: add one with `printf 'PASSWORD\\n' | pnpm mirror user add NAME --role admin --password-stdin`");
      ctx.log.info({ url: cfg.publicUrl }, "console ready");
      const s = state;
      return {
        endpoints: userEndpoints(users, sessions, ctx.log),
        stop: async () => {
          for (const res of s.streams) res.end();
        },
      };
    },
  };
}
