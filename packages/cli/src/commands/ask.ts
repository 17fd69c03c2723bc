import type { Bus } from "@mirror/bus";
import {
  AskRequest,
  type AskReply,
  hasErrorCode,
  type Loop,
  loopsList,
  type MirrorConfig,
  modelAsk,
  parseDuration,
  ServiceStatus,
  SEVERITY_RANK,
  serviceStatus,
} from "@mirror/contracts";
import { ConfigError, connectBus, createLogger, loadConfig } from "@mirror/kit";
import { hostPort, reachable } from "../embedded.js";

const USAGE = `usage: mirror ask "QUESTION" [--timeout 60s] [--wait 15s] [--json]
  asks the running model adapter (model-rules, model-openai, ...) about the open loops and services
  --timeout  how long the adapter may take to answer
  --wait     how long to wait for an adapter to appear (one may be restarting)
`;

/** A request must fit NATS's default 1 MB payload: the most urgent loops go first, history is left out. */
const MAX_LOOPS = 300;
interface Args {
  question: string;
  timeoutMs: number;
  waitMs: number;
  json: boolean;
}

function parseArgs(args: string[]): Args | string {
  const words: string[] = [];
  const out = { timeoutMs: 60_000, waitMs: 15_000, json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--json") out.json = true;
    else if (a === "--timeout" || a === "--wait") {
      try {
        out[a === "--wait" ? "waitMs" : "timeoutMs"] = parseDuration(args[++i] ?? "");
      } catch (err) {
        return `${a}: ${(err as Error).message}`;
      }
    } else if (a === "-h" || a === "--help") return "";
    else if (a.startsWith("--")) return `unknown option ${a}`;
    else words.push(a);
  }
  const q = AskRequest.shape.question.safeParse(words.join(" "));
  if (!q.success) return q.error.issues[0]?.message ?? "invalid question";
  return { ...out, question: q.data };
}

const say = (msg: string) => process.stderr.write(`mirror ask: ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `mirror ask "QUESTION"`: the current loops and services, and the question, to `mirror.model.ask`. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    process.stderr.write(parsed ? `mirror ask: ${parsed}\n${USAGE}` : USAGE);
    return parsed ? 2 : 0;
  }
  let config: MirrorConfig;
  try {
    config = loadConfig(env).config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    say(err.message);
    return 2;
  }
  const bus = await connect(config, env);
  if (!bus) return 1;
  try {
    const [loops, services] = await Promise.all([currentLoops(bus), currentServices(bus)]);
    const reply = await askModel(
      bus,
      { question: parsed.question, loops, services, timeoutMs: parsed.timeoutMs },
      parsed,
    );
    if (!reply) return 1;
    process.stdout.write(
      parsed.json ? `${JSON.stringify(reply)}\n` : `${reply.answer}\n\n— ${reply.adapter} (${reply.model})\n`,
    );
    return 0;
  } finally {
    await bus.close(2_000);
  }
}

/** Connects as the owner's console identity; a NATS that does not answer is an error at once, not a hang. */
async function connect(config: MirrorConfig, env: NodeJS.ProcessEnv): Promise<Bus | undefined> {
  const where = config.bus.url.replace(/\/\/[^@/]*@/, "//[redacted]@");
  const { host, port } = hostPort(config.bus.url.split(",")[0] as string, 4222);
  if (!(await reachable(host, port, 3_000))) {
    say(`cannot reach NATS at ${where}: start the mesh with \`pnpm start\``);
    return undefined;
  }
  try {
    return await connectBus("operator", { config, env, log: createLogger("mirror-ask", undefined, "silent") });
  } catch (err) {
    say(`cannot connect to NATS at ${where}: ${(err as Error).message}`);
    return undefined;
  }
}

/** The open loops from the loop-detector, most urgent first; without a detector, none (and it says so). */
async function currentLoops(bus: Bus): Promise<Loop[]> {
  try {
    const { loops } = await bus.request(loopsList, {}, { timeout: 5_000 });
    return loops
      .filter((l) => l.status !== "closed")
      .sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity])
      .slice(0, MAX_LOOPS)
      .map((l) => ({ ...l, history: [] }));
  } catch (err) {
    say(`answering without loops: the loop-detector did not answer (${(err as Error).message})`);
    return [];
  }
}

/** The last status of every service, read from the stream (the tracker publishes whole states). */
async function currentServices(bus: Bus): Promise<ServiceStatus[]> {
  try {
    const out: ServiceStatus[] = [];
    for (const m of await bus.lastPerSubject(serviceStatus.filter)) {
      const s = ServiceStatus.safeParse(m.data);
      if (s.success) out.push(s.data);
    }
    return out;
  } catch (err) {
    say(`answering without services: cannot read their status (${(err as Error).message})`);
    return [];
  }
}

/** Asks, waiting with backoff while no adapter answers (one may be restarting); other errors are final. */
async function askModel(bus: Bus, req: AskRequest, { timeoutMs, waitMs }: Args): Promise<AskReply | undefined> {
  const giveUp = Date.now() + waitMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await bus.request(modelAsk, req, { timeout: timeoutMs });
    } catch (err) {
      if (!hasErrorCode(err, "MIRROR_ERR_NO_RESPONDERS")) {
        say(
          hasErrorCode(err, "MIRROR_ERR_TIMEOUT")
            ? `no answer within ${timeoutMs}ms (try --timeout)`
            : (err as Error).message,
        );
        return undefined;
      }
      if (Date.now() + delay > giveUp) {
        say("no model adapter is running: start one with `pnpm start model-rules` (or model-openai, model-anthropic)");
        return undefined;
      }
      await sleep(delay);
    }
  }
}
