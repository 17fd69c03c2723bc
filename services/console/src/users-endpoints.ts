import { type EndpointHandler, endpoint } from "@mirror/bus";
import {
  consoleTokensCreate,
  consoleTokensList,
  consoleTokensRevoke,
  consoleUsersAdd,
  consoleUsersList,
  consoleUsersPasswd,
  consoleUsersRemove,
} from "@mirror/contracts";
import { ConsoleError } from "./errors.js";
import type { Logger } from "pino";
import type { SessionStore } from "./sessions.js";
import type { TokenStore } from "./tokens.js";
import type { UserStore } from "./users.js";

/**
 * `mirror.console.users.*` and `mirror.console.tokens.*`: the CLI's `mirror user ...` and `mirror
 * token ...`. A removed user loses their sessions and tokens; a new password ends the sessions.
 */
export function userEndpoints(
  users: UserStore,
  sessions: SessionStore,
  tokens: TokenStore,
  log: Logger,
): EndpointHandler[] {
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
      await tokens.revokeUser(user.name);
      log.info({ user: user.name }, "user removed");
      return { user };
    }),
    endpoint(consoleUsersPasswd, async (req) => {
      const user = await users.passwd(req.name, req.password);
      await sessions.revokeUser(user.name);
      log.info({ user: user.name }, "password changed");
      return { user };
    }),
    endpoint(consoleTokensCreate, async (req) => {
      const user = await users.get(req.user);
      if (!user) throw new ConsoleError("MIRROR_ERR_NO_USER", `no user ${req.user}`);
      const made = await tokens.create(user.name, req.name);
      log.info({ user: user.name, token: req.name }, "API token created");
      return made;
    }),
    endpoint(consoleTokensList, async (req) => ({ tokens: await tokens.list(req.user) })),
    endpoint(consoleTokensRevoke, async (req) => {
      const info = await tokens.revoke(req.user, req.name);
      log.info({ user: req.user, token: req.name }, "API token revoked");
      return { info };
    }),
  ];
}
