import { createHash } from "node:crypto";

/** A SHA-256 digest, base64url: a session or API token is a key only as its digest (reading Redis gives nobody a credential). */
export const digestOf = (secret: string): string => createHash("sha256").update(secret).digest("base64url");

/**
 * The console's Redis keys (under its own prefix): the only place that names them. The user,
 * session, token, setup and login-limit stores each keep their part through these.
 */
export const KEYS = {
  user: (name: string) => `user:${name.toLowerCase()}`,
  /** Set of every user's name in lower case. */
  users: "users",
  session: (id: string) => `session:${digestOf(id)}`,
  userSessions: (name: string) => `user-sessions:${name.toLowerCase()}`,
  /** A form's notice, kept for the page its answer redirects to (Post/Redirect/Get). */
  flash: (id: string) => `flash:${digestOf(id)}`,
  /** An API token by the digest of its text. */
  token: (tokenDigest: string) => `token:${tokenDigest}`,
  /** Hash of a user's token names -> their digests. */
  userTokens: (name: string) => `user-tokens:${name.toLowerCase()}`,
  setupToken: "setup-token",
  loginFailuresOfAddress: (address: string) => `login-fail:addr:${address}`,
  loginFailuresOfUser: (user: string) => `login-fail:user:${user.toLowerCase().slice(0, 64)}`,
} as const;
