/** NATS subject wildcards: `*` is one token, a final `>` is one or more tokens. */

/** Whether a concrete subject matches a pattern. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== "*" && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Whether some subject matches both patterns. */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split(".");
  const y = b.split(".");
  for (let i = 0; ; i++) {
    const done = i >= x.length || i >= y.length;
    if (done) return x.length === y.length;
    if (x[i] === ">") return y.length > i;
    if (y[i] === ">") return x.length > i;
    if (x[i] !== "*" && y[i] !== "*" && x[i] !== y[i]) return false;
  }
}

/** Whether every subject matching `inner` also matches `outer`. */
export function subjectWithin(outer: string, inner: string): boolean {
  const o = outer.split(".");
  const i = inner.split(".");
  for (let k = 0; k < o.length; k++) {
    if (o[k] === ">") return i.length > k;
    if (k >= i.length) return false;
    if (i[k] === ">") return false;
    if (o[k] !== "*" && o[k] !== i[k]) return false;
  }
  return o.length === i.length;
}
