import { type EndpointHandler, endpoint } from "@mirror/bus";
import { consoleUsersAdd, consoleUsersList, consoleUsersPasswd, consoleUsersRemove } from "@mirror/contracts";
import type { Logger } from "pino";
import type { SessionStore } from "./sessions.js";
import type { UserStore } from "./users.js";

/** `mirror.console.users.*`: the CLI's `mirror user ...`; a removed user or a new password ends that user's sessions. */
export function userEndpoints(users: UserStore, sessions: SessionStore, log: Logger): EndpointHandler[] {
  return [
    endpoint(consoleUsersAdd, async (req) => {
      const user = await users.add(req.name, req.role, req.password);
      log.info({ user: user.name, role: user.role }, "user added");
      return { user };
    }),
    endpoint(consoleUsersList, async () => ({ users: await users.list() })),
    endpoint(consoleUsersRemove, async (req) => {
      const user = await users.remove(req.name);
      await sessions.revokeUser(user.name);
      log.info({ user: user.name }, "user removed");
      return { user };
    }),
    endpoint(consoleUsersPasswd, async (req) => {
      const user = await users.passwd(req.name, req.password);
      await sessions.revokeUser(user.name);
      log.info({ user: user.name }, "password changed");
      return { user };
    }),
  ];
}
