import { describeZodError } from "@mirror/bus";
import { errorBody, LoopCommand, LoopSnooze, LoopsListRequest } from "@mirror/contracts";
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { badRequest, LoopCommandError } from "./errors.js";
import type { Command } from "./lifecycle.js";
import type { LoopApi } from "./loop-api.js";

const commaList = z.string().transform((s) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean),
);
const ListQuery = z.object({
  status: commaList.optional(),
  kind: commaList.optional(),
  severity: commaList.optional(),
});
const Body = z
  .object({
    by: z.string().optional(),
    note: z.string().optional(),
    for: z.string().optional(),
    until: z.string().optional(),
  })
  .default({});

/**
 * The loop-detector's HTTP API on `loops.port`: `GET /loops?status=&kind=&severity=`,
 * `GET /loops/:id`, and `POST /loops/:id/{ack,snooze,close,reopen,unack}`.
 */
export function registerRoutes(app: FastifyInstance, getApi: () => LoopApi | undefined): void {
  const use = (reply: FastifyReply): LoopApi | undefined => {
    const api = getApi();
    if (!api)
      void fail(
        reply,
        new LoopCommandError("MIRROR_ERR_NOT_READY", "the loop-detector is starting; try again in a moment"),
      );
    return api;
  };
  app.get("/loops", async (req, reply) => {
    const api = use(reply);
    if (!api) return reply;
    const q = ListQuery.safeParse(req.query);
    const filter = q.success ? LoopsListRequest.safeParse(q.data) : q;
    if (!filter.success) return fail(reply, badRequest(`invalid filter: ${describeZodError(filter.error)}`));
    return { loops: await api.list(filter.data) };
  });
  app.get<{ Params: { id: string } }>("/loops/:id", (req, reply) =>
    run(reply, use, async (api) => ({ loop: await api.get(req.params.id) })),
  );
  for (const type of ["ack", "close", "reopen", "unack"] as const) {
    app.post<{ Params: { id: string } }>(`/loops/:id/${type}`, (req, reply) =>
      run(reply, use, async (api) => {
        const cmd = parse(LoopCommand, { ...body(req.body), loopId: req.params.id });
        return { loop: await api.command(cmd.loopId, { type } as Command, cmd.by, cmd.note) };
      }),
    );
  }
  app.post<{ Params: { id: string } }>("/loops/:id/snooze", (req, reply) =>
    run(reply, use, async (api) => ({
      loop: await api.snooze(parse(LoopSnooze, { ...body(req.body), loopId: req.params.id })),
    })),
  );
}

function body(raw: unknown): z.infer<typeof Body> {
  const b = Body.safeParse(raw ?? {});
  if (!b.success) throw badRequest(`invalid body: ${describeZodError(b.error)}`);
  return b.data;
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw badRequest(describeZodError(r.error));
  return r.data;
}

async function run(
  reply: FastifyReply,
  use: (r: FastifyReply) => LoopApi | undefined,
  f: (api: LoopApi) => Promise<unknown>,
): Promise<unknown> {
  const api = use(reply);
  if (!api) return reply;
  try {
    return await f(api);
  } catch (err) {
    if (err instanceof LoopCommandError) return fail(reply, err);
    throw err;
  }
}

function fail(reply: FastifyReply, err: LoopCommandError): FastifyReply {
  return reply.code(err.status).send(errorBody(err.code, err.message));
}
