import { DLQ_STREAM, STREAM } from "@mirror/contracts";
import { dlqSubjectOf, type IdentitySpec, inboxPrefixOf, requestsOf } from "./identities.js";
import { subjectMatches, subjectsOverlap } from "./subjects.js";

/** What nats-server lets one identity publish and subscribe to (allow lists; everything else is denied). */
export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
}

const SRV = "$SRV.>";

function answers(spec: IdentitySpec): string[] {
  return spec.kind === "console" || spec.kind === "client" ? [] : [SRV, ...spec.serves];
}

/** Whether `caller` sends requests that `responder` answers (so the responder may publish to the caller's inbox). */
function calls(caller: IdentitySpec, responder: IdentitySpec, table: readonly IdentitySpec[]): boolean {
  const served = answers(responder);
  return requestsOf(caller, table).some((r) => served.some((s) => subjectsOverlap(r, s)));
}

/** Event subjects an identity may publish: its own, plus its dead letters when it consumes. */
export function eventSubjectsOf(spec: IdentitySpec): string[] {
  return spec.consumes.length ? [...spec.publishes, dlqSubjectOf(spec.name)] : [...spec.publishes];
}

/**
 * Derives an identity's server permissions from the table: its event subjects, exactly the
 * JetStream API and ack subjects of its own durable consumers (no create rights), the requests
 * it makes, replies only into the inboxes of identities that call it (no `allow_responses`,
 * which would let a reply land on an event subject), and its own inbox prefix.
 */
export function permissionsOf(spec: IdentitySpec, table: readonly IdentitySpec[]): NatsPermissions {
  const publish = new Set<string>(eventSubjectsOf(spec));
  for (const c of spec.consumes) {
    publish.add(`$JS.API.CONSUMER.INFO.${STREAM.name}.${c.durable}`);
    publish.add(`$JS.API.CONSUMER.MSG.NEXT.${STREAM.name}.${c.durable}`);
    publish.add(`$JS.ACK.${STREAM.name}.${c.durable}.>`);
  }
  if (spec.readsHistory) {
    publish.add(`$JS.API.STREAM.INFO.${STREAM.name}`);
    // The dead-letter stream's size too: mirror_jetstream_stream_* for both.
    publish.add(`$JS.API.STREAM.INFO.${DLQ_STREAM.name}`);
    publish.add(`$JS.API.STREAM.MSG.GET.${STREAM.name}`);
  }
  for (const r of requestsOf(spec, table)) publish.add(r);
  if (spec.kind === "console") {
    publish.add("$JS.API.>");
    publish.add("$JS.ACK.>");
  }
  for (const caller of table) if (calls(caller, spec, table)) publish.add(`${inboxPrefixOf(caller.name)}.>`);
  // A live feed (Bus.watch) is a plain subscription: the server checks it against these.
  const subscribe = new Set<string>([`${inboxPrefixOf(spec.name)}.>`, ...answers(spec), ...(spec.watches ?? [])]);
  return { publish: [...publish], subscribe: [...subscribe] };
}

/** Whether the table lets `identity` publish events on `subject` (the verifier's second check). */
export function mayPublishEvent(identity: string, subject: string, table: readonly IdentitySpec[]): boolean {
  const spec = table.find((s) => s.name === identity);
  return !!spec && eventSubjectsOf(spec).some((p) => subjectMatches(p, subject));
}
