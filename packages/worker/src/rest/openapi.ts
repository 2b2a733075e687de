/**
 * The OpenAPI 3.1 description of the REST API in ./handlers.ts, kept as data.
 * A test checks it against the real handlers: every route is documented and
 * every documented operation answers.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown, description: string) => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => json(ref('Error'), description);
const empty = (description: string) => ({ description });
const connector = { name: 'connector', in: 'path', required: true, description: 'Connector name.', schema: { type: 'string' } };
const task = { name: 'task', in: 'path', required: true, description: 'Task id (0-based).', schema: { type: 'integer', minimum: 0 } };
const plugin = { name: 'plugin', in: 'path', required: true, description: 'Plugin class name or alias.', schema: { type: 'string' } };
const logger = { name: 'logger', in: 'path', required: true, description: 'Logger name, e.g. `connector.orders`.', schema: { type: 'string' } };
const body = (schema: unknown, description?: string) => ({ required: true, description, content: { 'application/json': { schema } } });
const notFound = error('Unknown connector (or task).');
const jobId = { name: 'id', in: 'path', required: true, description: 'Job id.', schema: { type: 'string' } };
const badRequest = error('Invalid request or config.');

function jobAction(what: string, summary: string) {
  return {
    parameters: [connector, jobId],
    post: {
      tags: ['jobs'],
      operationId: `${what}Job`,
      summary,
      responses: { '202': json(ref('Job'), 'The job after the change.'), '404': error('Unknown connector or job.') },
    },
  };
}

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Ferry worker REST API',
    version: '1',
    description:
      "Wire-compatible with Kafka Connect's REST API. Errors have the body `{error_code, message}`. " +
      'Password-type options read back as `[hidden]`.',
  },
  servers: [{ url: 'http://127.0.0.1:8083' }],
  tags: [
    { name: 'worker', description: 'Version, health, metrics, this document.' },
    { name: 'connectors', description: 'Create, configure and control connectors.' },
    { name: 'tasks', description: "A connector's tasks." },
    { name: 'offsets', description: 'Offsets of a connector (changed only when it is STOPPED).' },
    { name: 'plugins', description: 'Installed plugins and their config definitions.' },
    { name: 'admin', description: 'Log levels.' },
    { name: 'jobs', description: 'Chunked jobs of a connector (snapshots, backfills) and ad hoc snapshots.' },
  ],
  paths: {
    '/': {
      get: {
        tags: ['worker'],
        operationId: 'serverInfo',
        summary: 'Worker version and the Kafka cluster id.',
        responses: { '200': json(ref('ServerInfo'), 'Worker version.') },
      },
    },
    '/health': {
      get: {
        tags: ['worker'],
        operationId: 'health',
        summary: 'Readiness of the worker.',
        responses: { '200': json(ref('Health'), 'Ready.'), '503': json(ref('Health'), 'Still starting.') },
      },
    },
    '/metrics': {
      get: {
        tags: ['worker'],
        operationId: 'metrics',
        summary: 'Prometheus metrics (text exposition format).',
        responses: { '200': { description: 'Metrics.', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    '/openapi.json': {
      get: {
        tags: ['worker'],
        operationId: 'openapi',
        summary: 'This document.',
        responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1 document.') },
      },
    },
    '/connectors': {
      get: {
        tags: ['connectors'],
        operationId: 'listConnectors',
        summary: 'Connector names, or with `expand` their status and/or info.',
        parameters: [
          {
            name: 'expand',
            in: 'query',
            required: false,
            description: '`status`, `info`, or both (repeated).',
            schema: { type: 'array', items: { type: 'string', enum: ['status', 'info'] } },
            style: 'form',
            explode: true,
          },
        ],
        responses: {
          '200': json(
            {
              oneOf: [
                { type: 'array', items: { type: 'string' } },
                {
                  type: 'object',
                  additionalProperties: { type: 'object', properties: { status: ref('ConnectorStatus'), info: ref('ConnectorInfo') } },
                },
              ],
            },
            'Names, or a map of name to the expansions asked for.',
          ),
        },
      },
      post: {
        tags: ['connectors'],
        operationId: 'createConnector',
        summary: 'Create a connector.',
        requestBody: body(ref('CreateConnector')),
        responses: {
          '201': { ...json(ref('ConnectorInfo'), 'Created.'), headers: { Location: { schema: { type: 'string' } } } },
          '400': badRequest,
          '409': error('A connector of that name exists.'),
        },
      },
    },
    '/connectors/{connector}': {
      parameters: [connector],
      get: {
        tags: ['connectors'],
        operationId: 'getConnector',
        summary: 'Config, tasks and type of a connector.',
        responses: { '200': json(ref('ConnectorInfo'), 'The connector.'), '404': notFound },
      },
      delete: {
        tags: ['connectors'],
        operationId: 'deleteConnector',
        summary: 'Stop and delete a connector.',
        responses: { '204': empty('Deleted.'), '404': notFound },
      },
    },
    '/connectors/{connector}/config': {
      parameters: [connector],
      get: {
        tags: ['connectors'],
        operationId: 'getConnectorConfig',
        summary: 'The config of a connector.',
        responses: { '200': json(ref('Config'), 'The config.'), '404': notFound },
      },
      put: {
        tags: ['connectors'],
        operationId: 'putConnectorConfig',
        summary: 'Create or replace the config of a connector.',
        requestBody: body(ref('Config')),
        responses: {
          '200': json(ref('ConnectorInfo'), 'Updated.'),
          '201': { ...json(ref('ConnectorInfo'), 'Created.'), headers: { Location: { schema: { type: 'string' } } } },
          '400': badRequest,
        },
      },
      patch: {
        tags: ['connectors'],
        operationId: 'patchConnectorConfig',
        summary: 'Change some options; a null value removes the option.',
        requestBody: body({ type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } }),
        responses: { '200': json(ref('ConnectorInfo'), 'Updated.'), '400': badRequest, '404': notFound },
      },
    },
    '/connectors/{connector}/status': {
      parameters: [connector],
      get: {
        tags: ['connectors'],
        operationId: 'getConnectorStatus',
        summary: 'State of the connector and its tasks, with traces of failures.',
        responses: { '200': json(ref('ConnectorStatus'), 'The status.'), '404': notFound },
      },
    },
    '/connectors/{connector}/restart': {
      parameters: [connector],
      post: {
        tags: ['connectors'],
        operationId: 'restartConnector',
        summary: 'Restart the connector, and with `includeTasks` its tasks (with `onlyFailed` the failed ones only).',
        parameters: [
          { name: 'includeTasks', in: 'query', required: false, schema: { type: 'boolean', default: false } },
          { name: 'onlyFailed', in: 'query', required: false, schema: { type: 'boolean', default: false } },
        ],
        responses: { '202': json(ref('ConnectorStatus'), 'Restarting (with either flag).'), '204': empty('Restarted.'), '404': notFound },
      },
    },
    '/connectors/{connector}/pause': {
      parameters: [connector],
      put: { tags: ['connectors'], operationId: 'pauseConnector', summary: 'Pause the connector and its tasks.', responses: { '202': empty('Pausing.'), '404': notFound } },
    },
    '/connectors/{connector}/resume': {
      parameters: [connector],
      put: {
        tags: ['connectors'],
        operationId: 'resumeConnector',
        summary: 'Resume a PAUSED or STOPPED connector.',
        responses: { '202': empty('Resuming.'), '404': notFound },
      },
    },
    '/connectors/{connector}/stop': {
      parameters: [connector],
      put: {
        tags: ['connectors'],
        operationId: 'stopConnector',
        summary: 'Shut the tasks down (offsets can then be changed); idempotent.',
        responses: { '204': empty('Stopped.'), '404': notFound },
      },
    },
    '/connectors/{connector}/tasks': {
      parameters: [connector],
      get: {
        tags: ['tasks'],
        operationId: 'listTasks',
        summary: 'Task configs of a connector.',
        responses: {
          '200': json(
            { type: 'array', items: { type: 'object', properties: { id: ref('TaskId'), config: ref('Config') }, required: ['id', 'config'] } },
            'Tasks.',
          ),
          '404': notFound,
        },
      },
    },
    '/connectors/{connector}/tasks/{task}/status': {
      parameters: [connector, task],
      get: {
        tags: ['tasks'],
        operationId: 'getTaskStatus',
        summary: 'State of one task.',
        responses: { '200': json(ref('TaskState'), 'The task state.'), '404': notFound },
      },
    },
    '/connectors/{connector}/tasks/{task}/restart': {
      parameters: [connector, task],
      post: { tags: ['tasks'], operationId: 'restartTask', summary: 'Restart one task.', responses: { '204': empty('Restarted.'), '404': notFound } },
    },
    '/connectors/{connector}/topics': {
      parameters: [connector],
      get: {
        tags: ['connectors'],
        operationId: 'getConnectorTopics',
        summary: 'Topics the connector has used since it was created or reset.',
        responses: {
          '200': json({ type: 'object', additionalProperties: { type: 'object', properties: { topics: { type: 'array', items: { type: 'string' } } } } }, 'Topics.'),
          '404': notFound,
        },
      },
    },
    '/connectors/{connector}/topics/reset': {
      parameters: [connector],
      put: { tags: ['connectors'], operationId: 'resetConnectorTopics', summary: 'Forget the topics used.', responses: { '202': empty('Reset.'), '404': notFound } },
    },
    '/connectors/{connector}/offsets': {
      parameters: [connector],
      get: {
        tags: ['offsets'],
        operationId: 'getOffsets',
        summary: 'Offsets of the connector (sinks: partition `{kafka_topic, kafka_partition}`, offset `{kafka_offset}`).',
        responses: { '200': json(ref('Offsets'), 'Offsets.'), '404': notFound },
      },
      patch: {
        tags: ['offsets'],
        operationId: 'alterOffsets',
        summary: 'Set offsets of a STOPPED connector; `offset: null` resets that partition.',
        requestBody: body(ref('Offsets')),
        responses: { '200': json(ref('Message'), 'Altered.'), '400': error('Empty list, or the connector is not STOPPED.'), '404': notFound },
      },
      delete: {
        tags: ['offsets'],
        operationId: 'resetOffsets',
        summary: 'Reset every offset of a STOPPED connector.',
        responses: { '200': json(ref('Message'), 'Reset.'), '400': error('The connector is not STOPPED.'), '404': notFound },
      },
    },
    '/connector-plugins': {
      get: {
        tags: ['plugins'],
        operationId: 'listPlugins',
        summary: 'Installed plugins (connectors only unless `connectorsOnly=false`).',
        parameters: [{ name: 'connectorsOnly', in: 'query', required: false, schema: { type: 'boolean', default: true } }],
        responses: { '200': json({ type: 'array', items: ref('PluginInfo') }, 'Plugins.') },
      },
    },
    '/connector-plugins/{plugin}/config': {
      parameters: [plugin],
      get: {
        tags: ['plugins'],
        operationId: 'getPluginConfig',
        summary: 'Config definition of a plugin (connectors include the options every connector accepts).',
        responses: { '200': json({ type: 'array', items: ref('ConfigKeyInfo') }, 'Definition.'), '404': error('Unknown plugin.') },
      },
    },
    '/connector-plugins/{plugin}/config/validate': {
      parameters: [plugin],
      put: {
        tags: ['plugins'],
        operationId: 'validateConfig',
        summary: 'Validate a connector config without creating it.',
        requestBody: body(ref('Config')),
        responses: { '200': json(ref('ConfigInfos'), 'Per-option values and errors.'), '400': badRequest, '404': error('Unknown plugin.') },
      },
    },
    '/admin/loggers': {
      get: {
        tags: ['admin'],
        operationId: 'listLoggers',
        summary: 'Levels of the loggers that were set or used.',
        responses: { '200': json({ type: 'object', additionalProperties: ref('LoggerLevel') }, 'Loggers.') },
      },
    },
    '/connectors/{connector}/jobs': {
      parameters: [connector],
      get: {
        tags: ['jobs'],
        operationId: 'listJobs',
        summary: "The connector's chunked jobs with their progress.",
        responses: { '200': json({ type: 'array', items: ref('Job') }, 'Jobs, newest last.'), '404': notFound },
      },
    },
    '/connectors/{connector}/jobs/{id}/cancel': jobAction('cancel', 'Cancel a job: no chunk starts afterwards; running chunks stop after their current page.'),
    '/connectors/{connector}/jobs/{id}/pause': jobAction('pause', 'Pause a job after the current page of each running chunk.'),
    '/connectors/{connector}/jobs/{id}/resume': jobAction('resume', 'Resume a paused job.'),
    '/connectors/{connector}/snapshots': {
      parameters: [connector],
      post: {
        tags: ['jobs'],
        operationId: 'executeSnapshot',
        summary: 'Start an incremental snapshot of tables while streaming goes on (PostgresCdcSource).',
        requestBody: body({
          type: 'object',
          properties: { 'data-collections': { type: 'array', items: { type: 'string' }, minItems: 1 }, type: { type: 'string', enum: ['incremental'] } },
          required: ['data-collections'],
        }),
        responses: {
          '202': json({ type: 'object' }, 'Handed to the running task.'),
          '400': badRequest,
          '404': notFound,
          '409': error('No running task of this connector takes ad hoc snapshots.'),
        },
      },
    },
    '/admin/loggers/{logger}': {
      parameters: [logger],
      get: {
        tags: ['admin'],
        operationId: 'getLogger',
        summary: 'Level of one logger.',
        responses: { '200': json(ref('LoggerLevel'), 'The level.'), '404': error('Unknown logger.') },
      },
      put: {
        tags: ['admin'],
        operationId: 'setLogger',
        summary: 'Set the level of a logger and its descendants.',
        parameters: [{ name: 'scope', in: 'query', required: false, schema: { type: 'string', enum: ['worker', 'cluster'], default: 'worker' } }],
        requestBody: body({ type: 'object', properties: { level: { type: 'string', enum: ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'OFF'] } }, required: ['level'] }),
        responses: { '200': json({ type: 'array', items: { type: 'string' } }, 'Names of the loggers changed.'), '400': error('Invalid level or scope.') },
      },
    },
  },
  components: {
    schemas: {
      Error: {
        type: 'object',
        properties: { error_code: { type: 'integer' }, message: { type: 'string' } },
        required: ['error_code', 'message'],
      },
      Message: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
      Job: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          work: { type: 'string' },
          state: { type: 'string', enum: ['running', 'paused', 'completed', 'failed', 'cancelled'] },
          chunks: {
            type: 'object',
            properties: { total: { type: 'integer' }, done: { type: 'integer' }, running: { type: 'integer' }, failed: { type: 'integer' } },
          },
          rows: { type: 'integer' },
          rowsPerSecond: { type: 'number' },
          etaSeconds: { type: ['number', 'null'] },
          error: { type: 'string' },
        },
        required: ['id', 'work', 'state', 'chunks', 'rows'],
      },
      ServerInfo: {
        type: 'object',
        properties: { version: { type: 'string' }, commit: { type: 'string' }, kafka_cluster_id: { type: ['string', 'null'] } },
      },
      Health: {
        type: 'object',
        properties: { status: { type: 'string', enum: ['healthy', 'starting', 'unhealthy'] }, message: { type: 'string' } },
      },
      Config: {
        type: 'object',
        description: 'Options as strings (numbers and booleans are accepted on input).',
        additionalProperties: { type: ['string', 'number', 'boolean'] },
      },
      CreateConnector: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          config: ref('Config'),
          initial_state: { type: 'string', enum: ['RUNNING', 'PAUSED', 'STOPPED'] },
        },
        required: ['config'],
      },
      TaskId: { type: 'object', properties: { connector: { type: 'string' }, task: { type: 'integer' } }, required: ['connector', 'task'] },
      ConnectorInfo: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          config: ref('Config'),
          tasks: { type: 'array', items: ref('TaskId') },
          type: { type: 'string', enum: ['source', 'sink'] },
        },
        required: ['name', 'config', 'tasks', 'type'],
      },
      State: {
        type: 'object',
        properties: {
          state: { type: 'string', enum: ['UNASSIGNED', 'RUNNING', 'PAUSED', 'FAILED', 'RESTARTING', 'STOPPED'] },
          worker_id: { type: 'string' },
          trace: { type: 'string' },
          message: { type: 'string' },
        },
        required: ['state', 'worker_id'],
      },
      TaskState: { allOf: [ref('State'), { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] }] },
      ConnectorStatus: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          connector: ref('State'),
          tasks: { type: 'array', items: ref('TaskState') },
          type: { type: 'string', enum: ['source', 'sink'] },
        },
        required: ['name', 'connector', 'tasks', 'type'],
      },
      Offsets: {
        type: 'object',
        properties: {
          offsets: {
            type: 'array',
            items: {
              type: 'object',
              properties: { partition: { type: 'object' }, offset: { type: ['object', 'null'] } },
              required: ['partition', 'offset'],
            },
          },
        },
        required: ['offsets'],
      },
      PluginInfo: {
        type: 'object',
        properties: {
          class: { type: 'string' },
          type: { type: 'string', enum: ['source', 'sink', 'converter', 'header_converter', 'transformation', 'predicate'] },
          version: { type: 'string' },
        },
      },
      ConfigKeyInfo: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          type: { type: 'string', enum: ['BOOLEAN', 'STRING', 'INT', 'SHORT', 'LONG', 'DOUBLE', 'LIST', 'CLASS', 'PASSWORD'] },
          required: { type: 'boolean' },
          default_value: { type: ['string', 'null'] },
          importance: { type: 'string', enum: ['HIGH', 'MEDIUM', 'LOW'] },
          documentation: { type: 'string' },
          group: { type: ['string', 'null'] },
          order_in_group: { type: 'integer' },
          width: { type: 'string' },
          display_name: { type: 'string' },
          dependents: { type: 'array', items: { type: 'string' } },
        },
      },
      ConfigInfos: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          error_count: { type: 'integer' },
          groups: { type: 'array', items: { type: 'string' } },
          configs: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                definition: ref('ConfigKeyInfo'),
                value: {
                  type: 'object',
                  properties: {
                    name: { type: 'string' },
                    value: { type: ['string', 'null'] },
                    recommended_values: { type: 'array', items: { type: 'string' } },
                    errors: { type: 'array', items: { type: 'string' } },
                    visible: { type: 'boolean' },
                  },
                },
              },
            },
          },
        },
      },
      LoggerLevel: { type: 'object', properties: { level: { type: 'string' }, last_modified: { type: ['integer', 'null'] } } },
    },
  },
} as const;
