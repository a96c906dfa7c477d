import type { ActionDdl, AgentDdl } from './types.js';

// The REST resource routes an action declares beside itself in its DDL (`http:`), e.g.
// `GET /vms/{name}` for vm info. A `{param}` names one of the action's inputs; the others
// come from the query string (typed by the DDL) or the JSON body. Every action also has
// `POST /v1/<agent>/<action>`, which needs no declaration.

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface ResourceRoute {
  readonly method: HttpMethod;
  /** Under /v1, with `{param}` segments (OpenAPI's template syntax). */
  readonly path: string;
  readonly params: readonly string[];
  readonly agent: string;
  readonly action: string;
}

/** First segments the server keeps for itself. */
export const RESERVED_SEGMENTS = ['operations', 'events', 'openapi.json', 'rpc'];
const LITERAL = /^[a-z0-9][a-z0-9_-]*$/;
const PARAM = /^\{([a-z][a-z0-9_]*)\}$/;
const PARAM_TYPES = ['string', 'list', 'integer'];

export function routeSpecs(action: ActionDdl): string[] {
  if (action.http === undefined) return [];
  return Array.isArray(action.http) ? action.http : [action.http];
}

/** `GET /vms/{name}` → its parts, or a sentence saying what is wrong with it. */
export function parseRoute(spec: unknown): { method: HttpMethod; path: string; params: string[] } | string {
  if (typeof spec !== 'string') return 'must be "METHOD /path"';
  const match = /^([A-Z]+) (\/\S*)$/.exec(spec);
  if (!match) return `"${spec}" must be "METHOD /path"`;
  const method = match[1] as HttpMethod;
  if (!HTTP_METHODS.includes(method)) return `"${spec}": method must be one of ${HTTP_METHODS.join(', ')}`;
  const segments = match[2]!.slice(1).split('/');
  const params: string[] = [];
  for (const segment of segments) {
    const param = PARAM.exec(segment)?.[1];
    if (param) params.push(param);
    else if (!LITERAL.test(segment)) return `"${spec}": segment "${segment}" must be a lowercase word or {input}`;
  }
  if (!params.length && segments.length === 0) return `"${spec}": the path is empty`;
  return { method, path: match[2]!, params };
}

/** What lint reports about one action's routes. */
export function routeProblems(action: ActionDdl): string[] {
  if (action.http !== undefined && typeof action.http !== 'string' && !Array.isArray(action.http)) return ['http must be a route or a list of routes'];
  const problems: string[] = [];
  for (const spec of routeSpecs(action)) {
    const route = parseRoute(spec);
    if (typeof route === 'string') {
      problems.push(`http ${route}`);
      continue;
    }
    const where = `http "${spec}"`;
    if (RESERVED_SEGMENTS.includes(route.path.split('/')[1] ?? '')) problems.push(`${where}: /${route.path.split('/')[1]} is the server's own`);
    if (new Set(route.params).size !== route.params.length) problems.push(`${where}: an input appears twice`);
    for (const param of route.params) {
      const input = action.input?.[param];
      if (!input) problems.push(`${where}: {${param}} is not an input of the action`);
      else if (!PARAM_TYPES.includes(input.type)) problems.push(`${where}: {${param}} must be a string, list or integer input`);
    }
    if (action.mutating && route.method === 'GET') problems.push(`${where}: a mutating action cannot be GET (caches and crawlers repeat GETs)`);
    if (!action.mutating && route.method !== 'GET') problems.push(`${where}: an action that changes nothing is GET`);
  }
  return problems;
}

/** Every declared resource route of these agents, in DDL order. */
export function resourceRoutes(ddls: readonly AgentDdl[]): ResourceRoute[] {
  const routes: ResourceRoute[] = [];
  for (const ddl of ddls) {
    for (const action of ddl.actions) {
      for (const spec of routeSpecs(action)) {
        const route = parseRoute(spec);
        if (typeof route !== 'string') routes.push({ ...route, agent: ddl.metadata.name, action: action.action });
      }
    }
  }
  return routes;
}

/** Two routes one request could match, or one that shadows `POST /v1/<agent>/<action>`. */
export function routeConflicts(ddls: readonly AgentDdl[]): string[] {
  const problems: string[] = [];
  const agents = new Set(ddls.map((ddl) => ddl.metadata.name));
  const routes = resourceRoutes(ddls);
  routes.forEach((route, index) => {
    const other = routes.slice(0, index).find((earlier) => earlier.method === route.method && overlap(earlier.path, route.path));
    if (other) problems.push(`${route.agent} ${route.action}: http "${route.method} ${route.path}" overlaps ${other.agent} ${other.action}'s "${other.path}"`);
    const segments = route.path.split('/').slice(1);
    if (route.method === 'POST' && segments.length === 2 && agents.has(segments[0]!)) {
      problems.push(`${route.agent} ${route.action}: http "${route.method} ${route.path}" would shadow POST /v1/<agent>/<action>`);
    }
  });
  return problems;
}

/** Whether one request path could match both (a {param} matches any word). */
function overlap(a: string, b: string): boolean {
  const left = a.split('/');
  const right = b.split('/');
  return left.length === right.length && left.every((segment, i) => segment === right[i] || PARAM.test(segment) || PARAM.test(right[i]!));
}
