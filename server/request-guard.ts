// Who may talk to the server from a browser. A web page the user visits can send requests to
// localhost, and DNS rebinding can make a page's own name point here; so the Host header must be
// a name the server was told it serves, and a request carrying another page's Origin is refused
// unless --cors-origin names that origin. CLIs and servers send no Origin and are unaffected.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { LOOPBACK_NAMES } from '../shared/loopback.ts';
import { HttpError } from './http-error.ts';

export interface GuardOptions {
  /** The address the server listens on (--host). */
  host: string;
  /** More Host names to answer (--allow-host). */
  allowHosts: readonly string[];
  /** Origins granted CORS (--cors-origin). */
  corsOrigins: readonly string[];
}

export const CORS_HEADERS = {
  'access-control-allow-methods': 'GET, POST, PATCH, DELETE, OPTIONS',
  'access-control-allow-headers': 'content-type, x-api-key, authorization, last-event-id',
  'access-control-expose-headers': 'link, x-agentops-last-seq',
  'access-control-max-age': '600',
  vary: 'origin',
} as const;

/** A host name as a Host header carries it, without its port; IPv6 in brackets; lower case. */
function bareHost(host: string): string {
  const name = host.trim().toLowerCase();
  if (name.startsWith('[')) return name.slice(0, name.indexOf(']') + 1);
  const colon = name.indexOf(':');
  if (colon === -1) return name;
  // A bare IPv6 address (only from --host / --allow-host) gets its brackets.
  return name.indexOf(':', colon + 1) === -1 ? name.slice(0, colon) : `[${name}]`;
}

/** The names a server on `host` answers to. A wildcard bind answers to this machine's addresses. */
function servedNames(options: GuardOptions): Set<string> {
  const names = new Set<string>([...LOOPBACK_NAMES, bareHost(options.host)]);
  for (const name of options.allowHosts) names.add(bareHost(name));
  if (options.host === '0.0.0.0' || options.host === '::') {
    names.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces()))
      for (const { address } of addresses ?? []) names.add(bareHost(address));
  }
  return names;
}

/**
 * Returns the check every request passes first: 421 for a Host not served, 403 for a cross-origin
 * request from an origin not granted, and CORS headers for one that is.
 */
export function createRequestGuard(
  options: GuardOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const names = servedNames(options);
  const served = [...names].slice(0, 6).join(', ');
  const granted = new Set(options.corsOrigins);
  return (req, res) => {
    const host = req.headers.host;
    if (host !== undefined && !names.has(bareHost(host))) {
      throw new HttpError(
        421,
        `${JSON.stringify(host)} is not a name this server answers to (it answers to ${served}); add it with --allow-host`,
      );
    }
    const origin = req.headers.origin;
    if (origin === undefined) return;
    if (granted.has(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value);
      return;
    }
    // The dashboard is same-origin: its Origin names the Host it was loaded from.
    let sameOrigin = false;
    try {
      sameOrigin = host !== undefined && new URL(origin).host === host.toLowerCase();
    } catch {
      sameOrigin = false;
    }
    // A preflight is answered (without a grant, the browser stops there); anything else is refused.
    if (!sameOrigin && req.method !== 'OPTIONS') {
      throw new HttpError(
        403,
        `requests from web pages of ${JSON.stringify(origin)} are not allowed; start the server with --cors-origin ${origin} to allow them`,
      );
    }
  };
}
