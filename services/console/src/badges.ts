import type { CheckStatusSummary, HistoryWindow } from "@mirror/contracts";
import { escapeHtml } from "./html.js";

export type BadgeKind = "status" | "uptime" | "response";

/** A Shields.io endpoint answer (https://shields.io/badges/endpoint-badge). */
export interface ShieldsEndpoint {
  schemaVersion: 1;
  label: string;
  message: string;
  color: string;
}

const HEX: Record<string, string> = {
  blue: "#007ec6",
  brightgreen: "#4c1",
  green: "#97ca00",
  yellow: "#dfb317",
  orange: "#fe7d37",
  red: "#e05d44",
  lightgrey: "#9f9f9f",
};

export function formatPercent(ratio: number): string {
  const p = ratio * 100;
  if (p >= 100) return "100%";
  return `${p >= 99.99 ? p.toFixed(3) : p >= 99 ? p.toFixed(2) : p.toFixed(1)}%`;
}

/** What a badge says about one check; only state, uptime and mean response time, never an error or a URL. */
export function shields(s: CheckStatusSummary, kind: BadgeKind, window: HistoryWindow): ShieldsEndpoint {
  if (kind === "status") {
    if (s.maintenance) return { schemaVersion: 1, label: s.name, message: "maintenance", color: "blue" };
    const color =
      s.state === "up" ? "brightgreen" : s.state === "degraded" ? "yellow" : s.state === "down" ? "red" : "lightgrey";
    return { schemaVersion: 1, label: s.name, message: s.state ?? "unknown", color };
  }
  if (kind === "uptime") {
    const u = s.uptime[window];
    const color =
      u === null
        ? "lightgrey"
        : u >= 0.999
          ? "brightgreen"
          : u >= 0.99
            ? "green"
            : u >= 0.95
              ? "yellow"
              : u >= 0.9
                ? "orange"
                : "red";
    return { schemaVersion: 1, label: `uptime ${window}`, message: u === null ? "no data" : formatPercent(u), color };
  }
  const ms = s.responseMs;
  const color =
    ms === null
      ? "lightgrey"
      : ms < 200
        ? "brightgreen"
        : ms < 500
          ? "green"
          : ms < 1_000
            ? "yellow"
            : ms < 2_000
              ? "orange"
              : "red";
  return { schemaVersion: 1, label: "response 24h", message: ms === null ? "no data" : `${Math.round(ms)} ms`, color };
}

/** Roughly Verdana 11px: good enough for the width of a flat badge. */
const textWidth = (t: string) =>
  Math.ceil([...t].reduce((w, c) => w + (/[il.,:;|!' ]/.test(c) ? 3.5 : /[mwMW%]/.test(c) ? 9.5 : 6.8), 0));

/** A flat SVG badge (label | message); every text escaped. */
export function badgeSvg(b: ShieldsEndpoint): string {
  const label = b.label.length > 40 ? `${b.label.slice(0, 39)}…` : b.label;
  const lw = textWidth(label) + 10;
  const mw = textWidth(b.message) + 10;
  const w = lw + mw;
  const [l, m, color] = [escapeHtml(label), escapeHtml(b.message), HEX[b.color] ?? "#9f9f9f"];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${l}: ${m}"><title>${l}: ${m}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${mw}" height="20" fill="${color}"/><rect width="${w}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"><text x="${lw / 2}" y="14">${l}</text><text x="${lw + mw / 2}" y="14">${m}</text></g></svg>`;
}
