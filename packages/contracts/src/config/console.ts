import { z } from "zod";
import { duration } from "../duration.js";
import { Port } from "./port.js";
import { StatusPages } from "./status-pages.js";

/** `console`: the owner's web page (login, loops, services, repos), a member of the mesh. */
export const ConsoleConfig = z
  .strictObject({
    port: Port.default(9100),
    /** Where the owner's browser reaches the console; links in notifications point here, cookies are `Secure` when https. */
    publicUrl: z.url().default("http://127.0.0.1:9100"),
    /** Single sign-on behind a reverse proxy: the header naming the user (e.g. `Remote-User`), honoured only from `trustedProxies`. */
    trustedHeader: z.string().min(1).optional(),
    /** Addresses of reverse proxies whose `trustedHeader` is believed. */
    trustedProxies: z.array(z.string().min(1)).default([]),
    /** How long a session lives without use. */
    sessionTtl: duration("7d"),
    /** Failed logins per user name in `loginWindow` before 429 (an address may fail four times as often). */
    loginAttempts: z.number().int().min(1).default(5),
    /** The window failed logins are counted in; a 429's Retry-After says when it ends. */
    loginWindow: duration("15m"),
    /** Public status pages, opt-in: none unless listed here. */
    statusPages: StatusPages,
  })
  .prefault({});
export type ConsoleConfig = z.infer<typeof ConsoleConfig>;
