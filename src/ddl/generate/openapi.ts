import { actionInputSchema } from '../json-schema.js';
import { routeSpecs, parseRoute } from '../routes.js';
import type { ActionDdl, AgentDdl, OutputType } from '../types.js';

// The OpenAPI 3.1 document of `hvagent serve`, generated from the DDLs: every action's
// POST /v1/<agent>/<action> and its resource routes, the operations, events and metrics.
// Written for client generators: every operation has a unique operationId, every schema
// is a named component (no anonymous inline objects to name after their path), inputs
// carry the validators' own rules, and every reply shares one envelope.

type Schema = Record<string, unknown>;

const OUTPUT_TYPES: Record<OutputType, Schema> = {
  string: { type: ['string', 'null'] },
  list: { type: ['string', 'null'] },
  boolean: { type: ['boolean', 'null'] },
  integer: { type: ['integer', 'null'] },
  float: { type: ['number', 'null'] },
  number: { type: ['number', 'null'] },
  hash: { type: ['object', 'null'], additionalProperties: true },
  array: { type: ['array', 'null'], items: {} },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** `vm` + `snapshot_create` → `VmSnapshotCreate` */
export function schemaName(agent: string, action: string): string {
  return `${agent}_${action}`.split('_').map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('');
}

export function openApiDocument(ddls: readonly AgentDdl[], version = '0.1.0'): Schema {
  const schemas: Record<string, Schema> = { ...FIXED_SCHEMAS };
  const paths: Record<string, Record<string, Schema>> = {};
  const at = (path: string) => (paths[path] ??= {});

  for (const ddl of ddls) {
    const agent = ddl.metadata.name;
    for (const action of ddl.actions) {
      const name = schemaName(agent, action.action);
      const { $id: _id, ...input } = actionInputSchema(agent, action);
      schemas[`${name}Input`] = { ...input, description: `Inputs of ${agent} ${action.action}` };
      schemas[`${name}Output`] = outputSchema(action);
      schemas[`${name}Reply`] = replySchema(ref(`${name}Output`), `The reply of ${agent} ${action.action}`);

      at(`/v1/${agent}/${action.action}`).post = {
        operationId: `rpc_${agent}_${action.action}`,
        summary: action.description,
        tags: [agent],
        parameters: ASYNC_PARAMETERS,
        requestBody: { required: false, content: { 'application/json': { schema: ref(`${name}Input`) } } },
        responses: actionResponses(name, true),
      };
      routeSpecs(action).forEach((spec, index) => {
        const route = parseRoute(spec);
        if (typeof route === 'string') return;
        const suffix = index === 0 ? '' : route.params.length ? `_by_${route.params.join('_and_')}` : `_${index}`;
        at(`/v1${route.path}`)[route.method.toLowerCase()] = resourceOperation(schemas, agent, action, route.method, route.params, `${agent}_${action.action}${suffix}`);
      });
    }
  }
  Object.assign(paths, FIXED_PATHS);
  return {
    openapi: '3.1.0',
    info: {
      title: 'hvagent',
      version,
      description: 'The Management API of one hypervisor host (docs/REST.md). Generated from the agent DDLs: every action is POST /v1/<agent>/<action>, and the resource routes the DDL declares.',
    },
    security: [{ bearerToken: [] }, { clientCertificate: [] }],
    paths,
    components: {
      schemas,
      parameters: FIXED_PARAMETERS,
      responses: { Refused: { description: 'A refusal or a failure: data.error_code says which (docs/REST.md)', content: { 'application/json': { schema: ref('ErrorReply') } } } },
      securitySchemes: {
        bearerToken: { type: 'http', scheme: 'bearer', description: 'A token whose SHA-256 is in server.tokens' },
        clientCertificate: { type: 'mutualTLS', description: 'A client certificate signed by server.tls.client_ca; its CN is the caller' },
      },
    },
  };
}

const ASYNC_PARAMETERS = [{ $ref: '#/components/parameters/AsyncParameter' }, { $ref: '#/components/parameters/PreferHeader' }];

/** One resource route; the schema of its body (the inputs not in its path) joins `schemas`. */
function resourceOperation(schemas: Record<string, Schema>, agent: string, action: ActionDdl, method: string, params: readonly string[], operationId: string): Schema {
  const name = schemaName(agent, action.action);
  const inputs = actionInputSchema(agent, action) as { properties: Record<string, Schema>; required: string[] };
  const parameters: Schema[] = params.map((param) => ({ name: param, in: 'path', required: true, schema: inputs.properties[param] }));
  const rest = Object.keys(action.input).filter((input) => !params.includes(input));
  if (method === 'GET') {
    for (const input of rest) parameters.push({ name: input, in: 'query', required: inputs.required.includes(input), schema: inputs.properties[input], description: action.input[input]!.description });
  } else {
    parameters.push(...ASYNC_PARAMETERS);
  }
  // A GET route answers now: it declares no async (a client generator would make every reply a union).
  const operation: Schema = { operationId, summary: action.description, tags: [agent], parameters, responses: actionResponses(name, method !== 'GET') };
  if (method !== 'GET' && rest.length > 0) {
    const bodyName = `${name}Body`;
    operation.requestBody = { required: false, content: { 'application/json': { schema: ref(bodyName) } } };
    schemas[bodyName] = {
      type: 'object',
      description: `Inputs of ${agent} ${action.action} besides the path's`,
      properties: Object.fromEntries(rest.map((input) => [input, inputs.properties[input]])),
      required: inputs.required.filter((input) => rest.includes(input)),
      additionalProperties: false,
    };
  }
  return operation;
}

function actionResponses(name: string, async: boolean): Schema {
  return {
    '200': { description: 'The action ran (statuscode 0)', content: { 'application/json': { schema: ref(`${name}Reply`) } } },
    ...(async && { '202': {
      description: 'Started as an operation (?async=true or Prefer: respond-async); Location names it',
      headers: { Location: { schema: { type: 'string' }, description: '/v1/operations/{id}' } },
      content: { 'application/json': { schema: ref('OperationReply') } },
    } }),
    '4XX': { $ref: '#/components/responses/Refused' },
    '5XX': { $ref: '#/components/responses/Refused' },
  };
}

function outputSchema(action: ActionDdl): Schema {
  const properties: Record<string, Schema> = {};
  for (const [name, output] of Object.entries(action.output)) {
    properties[name] = { ...(output.type ? OUTPUT_TYPES[output.type] : {}), description: output.description };
  }
  return { type: 'object', description: `Outputs of ${action.action}: every one is present, null when unknown`, properties, required: Object.keys(properties), additionalProperties: true };
}

function replySchema(data: Schema, description: string): Schema {
  return {
    type: 'object',
    description,
    properties: { statuscode: { type: 'integer', minimum: 0, maximum: 5 }, statusmsg: { type: 'string' }, data },
    required: ['statuscode', 'statusmsg', 'data'],
  };
}

const OPERATION: Schema = {
  type: 'object',
  description: 'A request run detached from its caller, or a long one that wrote a job record (docs/JOBS.md)',
  properties: {
    id: { type: 'string' },
    agent: { type: 'string' },
    action: { type: 'string' },
    target: { type: ['string', 'null'] },
    caller: { type: ['string', 'null'] },
    protocol: { type: 'string' },
    async: { type: 'boolean' },
    state: { type: 'string', enum: ['running', 'succeeded', 'failed', 'cancelled', 'lost'] },
    progress: { $ref: '#/components/schemas/OperationProgress' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    finished_at: { type: ['string', 'null'], format: 'date-time' },
    may_cancel: { type: 'boolean' },
    result: { type: ['object', 'null'], additionalProperties: true },
    error: { oneOf: [{ $ref: '#/components/schemas/OperationError' }, { type: 'null' }] },
  },
  required: ['id', 'agent', 'action', 'target', 'caller', 'protocol', 'async', 'state', 'progress', 'created_at', 'updated_at', 'finished_at', 'may_cancel', 'result', 'error'],
};

const FIXED_SCHEMAS: Record<string, Schema> = {
  ErrorReply: replySchema(
    {
      type: 'object',
      properties: { error_code: { type: 'string', description: "hvagent's stable error code" }, error_details: { type: 'object', additionalProperties: true } },
      required: ['error_code'],
      additionalProperties: true,
    },
    'A refusal or failure: statuscode 1-5, statusmsg for a person, data.error_code for a program',
  ),
  Operation: OPERATION,
  OperationProgress: {
    type: 'object',
    properties: { percent: { type: ['number', 'null'], minimum: 0, maximum: 100 }, stage: { type: 'string' }, message: { type: ['string', 'null'] } },
    required: ['percent', 'stage', 'message'],
  },
  OperationError: {
    type: 'object',
    properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: ['object', 'null'], additionalProperties: true } },
    required: ['code', 'message', 'details'],
  },
  OperationReply: replySchema(ref('Operation'), 'One operation'),
  OperationList: {
    type: 'object',
    properties: { operations: { type: 'array', items: ref('Operation') }, count: { type: 'integer' } },
    required: ['operations', 'count'],
  },
  OperationListReply: replySchema(ref('OperationList'), 'Operations, newest first'),
};

const FIXED_PARAMETERS: Record<string, Schema> = {
  AsyncParameter: { name: 'async', in: 'query', required: false, schema: { type: 'boolean' }, description: 'Run as an operation: 202 and Location at once' },
  PreferHeader: { name: 'Prefer', in: 'header', required: false, schema: { type: 'string' }, description: 'respond-async: the same as ?async=true' },
  OperationId: { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' } },
};

const refused = { '4XX': { $ref: '#/components/responses/Refused' }, '5XX': { $ref: '#/components/responses/Refused' } };
const operationParameter = { $ref: '#/components/parameters/OperationId' };
const operationReply = { description: 'The operation', content: { 'application/json': { schema: ref('OperationReply') } } };

const FIXED_PATHS: Record<string, Record<string, Schema>> = {
  '/v1/operations': {
    get: {
      operationId: 'operations_list',
      summary: 'The operations of this host, newest first',
      tags: ['operations'],
      parameters: ['state', 'agent', 'action', 'target'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
      responses: { '200': { description: 'Operations', content: { 'application/json': { schema: ref('OperationListReply') } } }, ...refused },
    },
  },
  '/v1/operations/{id}': {
    get: { operationId: 'operations_get', summary: 'One operation now', tags: ['operations'], parameters: [operationParameter], responses: { '200': operationReply, ...refused } },
    delete: {
      operationId: 'operations_cancel',
      summary: 'Cancel a running operation: its children are killed and its work undone',
      tags: ['operations'],
      parameters: [operationParameter],
      responses: { '200': operationReply, ...refused },
    },
  },
  '/v1/operations/{id}/wait': {
    get: {
      operationId: 'operations_wait',
      summary: 'The operation once it has ended, or after timeout seconds (X-Timed-Out: true)',
      tags: ['operations'],
      parameters: [operationParameter, { name: 'timeout', in: 'query', required: false, schema: { type: 'number', minimum: 0, maximum: 3600, default: 30 } }],
      responses: { '200': operationReply, ...refused },
    },
  },
  '/v1/events': {
    get: {
      operationId: 'events_stream',
      summary: 'Server-Sent Events: operation updates and VM lifecycle events',
      tags: ['events'],
      parameters: [
        { name: 'types', in: 'query', required: false, schema: { type: 'string' }, description: 'operation,vm (default both)' },
        { name: 'target', in: 'query', required: false, schema: { type: 'string' } },
        { name: 'operation', in: 'query', required: false, schema: { type: 'string' } },
      ],
      responses: { '200': { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...refused },
    },
  },
  '/metrics': {
    get: {
      operationId: 'metrics',
      summary: 'OpenMetrics text: host usage and VM statistics, at most a few seconds old',
      tags: ['metrics'],
      responses: { '200': { description: 'Metrics', content: { 'application/openmetrics-text': { schema: { type: 'string' } } } }, ...refused },
    },
  },
  '/v1/openapi.json': {
    get: {
      operationId: 'openapi',
      summary: 'This document',
      tags: ['meta'],
      responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } }, ...refused },
    },
  },
};
