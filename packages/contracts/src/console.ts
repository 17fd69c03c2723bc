import { z } from "zod";
import { defineEndpoint } from "./event.js";
import { IsoTime } from "./events/common.js";

/** What a console user may do: `viewer` reads, `operator` also acts on loops and rescans, `admin` also manages users. */
export const ConsoleRole = z.enum(["viewer", "operator", "admin"]);
export type ConsoleRole = z.infer<typeof ConsoleRole>;

/** A user name: it is shown in loop histories as `user:<name>`. */
export const UserName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, "use letters, digits, . _ @ and -, starting with a letter or digit");

/** A console account as listed: never its password or hash. */
export const ConsoleUser = z.object({ name: UserName, role: ConsoleRole, createdAt: IsoTime });
export type ConsoleUser = z.infer<typeof ConsoleUser>;

const Password = z.string().min(1).max(1_024);

export const UserAddRequest = z.object({ name: UserName, role: ConsoleRole, password: Password });
export const UserPasswdRequest = z.object({ name: UserName, password: Password });
export const UserRemoveRequest = z.object({ name: UserName });
export const UserReply = z.object({ user: ConsoleUser });
export const UsersListReply = z.object({ users: z.array(ConsoleUser) });

/**
 * Owned by the console (it keeps the users in its own Redis keys); called by `mirror user ...`.
 * Errors: 409 the user exists (add), 404 no such user (passwd, remove).
 */
export const consoleUsersAdd = defineEndpoint({
  name: "users-add",
  subject: "mirror.console.users.add",
  request: UserAddRequest,
  reply: UserReply,
});
export const consoleUsersList = defineEndpoint({
  name: "users-list",
  subject: "mirror.console.users.list",
  request: z.object({}),
  reply: UsersListReply,
});
export const consoleUsersRemove = defineEndpoint({
  name: "users-remove",
  subject: "mirror.console.users.remove",
  request: UserRemoveRequest,
  reply: UserReply,
});
export const consoleUsersPasswd = defineEndpoint({
  name: "users-passwd",
  subject: "mirror.console.users.passwd",
  request: UserPasswdRequest,
  reply: UserReply,
});

/** A per-user API token as listed (the token itself is shown only when created). */
export const ConsoleToken = z.object({ user: UserName, name: z.string().min(1).max(64), createdAt: IsoTime });
export type ConsoleToken = z.infer<typeof ConsoleToken>;
export const TokenCreateRequest = z.object({
  user: UserName,
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._-]+$/, "use letters, digits, . _ and -"),
});
export const TokenCreateReply = z.object({ token: z.string(), info: ConsoleToken });
export const TokenListRequest = z.object({ user: UserName });
export const TokenListReply = z.object({ tokens: z.array(ConsoleToken) });
export const TokenRevokeRequest = z.object({ user: UserName, name: z.string().min(1).max(64) });
export const TokenRevokeReply = z.object({ info: ConsoleToken });

/** `mirror token create|list|revoke`: `Authorization: Bearer <token>` on the console's /api/ acts as that user, without CSRF. */
export const consoleTokensCreate = defineEndpoint({
  name: "tokens-create",
  subject: "mirror.console.tokens.create",
  request: TokenCreateRequest,
  reply: TokenCreateReply,
});
export const consoleTokensList = defineEndpoint({
  name: "tokens-list",
  subject: "mirror.console.tokens.list",
  request: TokenListRequest,
  reply: TokenListReply,
});
export const consoleTokensRevoke = defineEndpoint({
  name: "tokens-revoke",
  subject: "mirror.console.tokens.revoke",
  request: TokenRevokeRequest,
  reply: TokenRevokeReply,
});
