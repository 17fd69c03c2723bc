import type { z } from "zod";

/**
 * A business event on the bus: its CloudEvents type, how its subject is built from an
 * entity token, the filter that matches all of them, and the zod schema of its data.
 */
export interface EventContract<S extends z.ZodType = z.ZodType> {
  /** CloudEvents `type`, versioned: a breaking change is a new type. */
  readonly type: string;
  /** Subject prefix without the trailing token, e.g. "mirror.repo.snapshot". */
  readonly prefix: string;
  /** Subject filter matching every event of this contract. */
  readonly filter: string;
  readonly schema: S;
  subject(token: string): string;
}

export type EventData<C extends EventContract> = z.output<C["schema"]>;

export function defineEvent<S extends z.ZodType>(spec: { type: string; prefix: string; schema: S }): EventContract<S> {
  return Object.freeze({
    type: spec.type,
    prefix: spec.prefix,
    filter: `${spec.prefix}.>`,
    schema: spec.schema,
    subject: (token: string) => `${spec.prefix}.${token}`,
  });
}

/** A request/reply endpoint of a service (NATS Services API). Kept outside every stream's subjects. */
export interface EndpointContract<Req extends z.ZodType = z.ZodType, Rep extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly subject: string;
  readonly request: Req;
  readonly reply: Rep;
}

export function defineEndpoint<Req extends z.ZodType, Rep extends z.ZodType>(spec: {
  name: string;
  subject: string;
  request: Req;
  reply: Rep;
}): EndpointContract<Req, Rep> {
  return Object.freeze({ ...spec });
}
