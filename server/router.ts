// A small router: method + path pattern → handler. HEAD falls back to GET, a known path with
// another method is 405 with Allow, anything else 404. Patterns name their parameters (`:id`),
// which arrive percent-decoded.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NotFoundError, invalid } from '../shared/errors.ts';
import { quote } from '../shared/validate.ts';
import { HttpError } from './http-error.ts';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  pathname: string;
  query: URLSearchParams;
  params: Record<string, string>;
}

export type Handler = (context: RequestContext) => Promise<void> | void;

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  handler: Handler;
}

interface CompiledPath {
  pattern: RegExp;
  names: string[];
  methods: Map<string, Handler>;
}

/** The parts of a request target the routes use; cheaper than a full URL parse per request. */
export function parseTarget(target: string): { pathname: string; query: URLSearchParams } {
  if (!target.startsWith('/')) {
    try {
      const url = new URL(target);
      return { pathname: url.pathname, query: url.searchParams };
    } catch {
      throw invalid(`request target is not a valid URL: ${quote(target)}`);
    }
  }
  const mark = target.indexOf('?');
  if (mark === -1) return { pathname: target, query: new URLSearchParams() };
  return {
    pathname: target.slice(0, mark),
    query: new URLSearchParams(target.slice(mark + 1)),
  };
}

function decodeParam(raw: string, name: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    // `runId` is named as people say it: "run id".
    const words = name.replace(/[A-Z]/g, (letter) => ` ${letter.toLowerCase()}`);
    throw invalid(`${words} is not valid percent-encoding; got ${quote(raw)}`);
  }
}

export class Router {
  #paths: CompiledPath[] = [];

  add(routes: Route[]): this {
    for (const { method, path, handler } of routes) {
      let compiled = this.#paths.find((entry) => entry.pattern.source === compile(path).source);
      if (!compiled) {
        const names = [...path.matchAll(/:(\w+)/g)].map((match) => match[1]!);
        compiled = { pattern: compile(path), names, methods: new Map() };
        this.#paths.push(compiled);
      }
      compiled.methods.set(method, handler);
    }
    return this;
  }

  /** The handler for a request, with its parameters; throws 405 or 404 when there is none. */
  find(method: string, pathname: string): { handler: Handler; params: Record<string, string> } {
    for (const { pattern, names, methods } of this.#paths) {
      const match = pattern.exec(pathname);
      if (!match) continue;
      const handler = methods.get(method) ?? (method === 'HEAD' ? methods.get('GET') : undefined);
      if (!handler) {
        const allow = [...methods.keys(), ...(methods.has('GET') ? ['HEAD'] : [])].join(', ');
        throw new HttpError(405, `method ${method} not allowed on ${pathname}; allowed: ${allow}`, {
          allow,
        });
      }
      const params: Record<string, string> = {};
      names.forEach((name, i) => (params[name] = decodeParam(match[i + 1]!, name)));
      return { handler, params };
    }
    throw new NotFoundError(`no route for ${method} ${pathname}`);
  }
}

function compile(path: string): RegExp {
  const source = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, '([^/]+)');
  return new RegExp(`^${source}$`);
}
