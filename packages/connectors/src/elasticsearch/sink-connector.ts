import type {
  ConnectorConfig,
  ConnectorContext,
  FieldErrors,
  SinkConnector,
  SinkTask,
  TaskConfig,
} from '@ferry/core';
import { detectServer } from './bulk-client.js';
import { createBulkClient } from './clients.js';
import { ElasticsearchSinkConfig, dataStreamName, type ElasticsearchSinkOptions } from './config.js';
import { ElasticsearchSinkTask, clientOptions } from './sink-task.js';

interface IndexTemplate {
  index_patterns: string | string[];
  priority?: number;
  data_stream?: unknown;
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}

/** Checks that need the server: reachable, credentials accepted, product as configured, data stream templates. */
export async function validateAgainstServer(cfg: ElasticsearchSinkOptions): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  const opts = clientOptions(cfg);
  let info;
  try {
    info = await detectServer(opts);
  } catch (e) {
    const err = e as { status?: number; message: string };
    const field =
      err.status === 401 || err.status === 403
        ? cfg['connection.api.key']
          ? 'connection.api.key'
          : cfg['connection.username']
            ? 'connection.password'
            : 'connection.username'
        : 'connection.url';
    const why = err.status === 401 || err.status === 403 ? 'credentials refused' : 'cannot connect';
    errors[field] = [`${why}: ${err.message}`];
    return errors;
  }
  const wanted = cfg['server.type'];
  if (wanted !== 'auto' && wanted !== info.product)
    errors['server.type'] = [`server.type=${wanted} but ${cfg['connection.url'][0]} is ${info.product} ${info.version}`];
  const major = Number(info.version.split('.')[0]);
  if (info.product === 'elasticsearch' && major < 7)
    errors['connection.url'] = [`Elasticsearch ${info.version} is too old: 7.14 or newer is supported`];

  const dsType = cfg['data.stream.type'];
  if (dsType !== 'none' && (cfg.topics ?? []).length > 0 && Object.keys(errors).length === 0) {
    const client = createBulkClient(info.product, opts);
    try {
      // The template that would apply (highest priority among the matching ones) must declare data_stream.
      // Matched here rather than with _simulate_index, whose answer does not say so on OpenSearch.
      const r = await client.request<{ index_templates?: Array<{ name: string; index_template: IndexTemplate }> }>('GET', '/_index_template');
      const templates = r?.index_templates ?? [];
      for (const topic of cfg.topics ?? []) {
        const name = dataStreamName(dsType, cfg['data.stream.dataset'] ?? '', topic);
        const match = templates
          .filter((t) => [t.index_template.index_patterns].flat().some((p) => globMatch(p, name)))
          .sort((a, b) => (b.index_template.priority ?? 0) - (a.index_template.priority ?? 0))[0];
        if (!match || !match.index_template.data_stream) {
          (errors['data.stream.type'] ??= []).push(
            match
              ? `The index template "${match.name}" that matches "${name}" has no "data_stream": records would land in a plain index`
              : `No index template matches "${name}": create one with "data_stream": {} (e.g. index_patterns ["${dsType}-*-*"])`,
          );
        }
      }
    } catch (e) {
      (errors['data.stream.type'] ??= []).push(`Cannot read the index templates: ${(e as Error).message}`);
    } finally {
      await client.close();
    }
  }
  return errors;
}

export class ElasticsearchSinkConnector implements SinkConnector {
  private config: ConnectorConfig = {};

  start(config: ConnectorConfig, _context: ConnectorContext): void {
    ElasticsearchSinkConfig.parse(config);
    this.config = config;
  }

  taskConfigs(maxTasks: number): TaskConfig[] {
    return Array.from({ length: Math.max(1, maxTasks) }, () => ({ ...this.config }));
  }

  createTask(): SinkTask {
    return new ElasticsearchSinkTask();
  }

  stop(): void {}

  async validate(config: ConnectorConfig): Promise<FieldErrors> {
    const r = ElasticsearchSinkConfig.validate(config);
    if (r.errorCount > 0) return r.errors;
    return validateAgainstServer(r.value as ElasticsearchSinkOptions);
  }
}
