import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const TASK = ['connector', 'task'] as const;

/**
 * Prometheus metrics, named after Kafka Connect's (dashes become
 * underscores), labelled by connector and task.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly sourceRecordPoll = this.counter('source_record_poll_total', 'Records returned by source tasks\' poll().');
  readonly sourceRecordWrite = this.counter('source_record_write_total', 'Source records acknowledged by the backbone.');
  readonly sinkRecordRead = this.counter('sink_record_read_total', 'Records read from the backbone for sink tasks.');
  readonly sinkRecordSend = this.counter('sink_record_send_total', 'Records handed to sink tasks\' put().');
  readonly offsetCommitSuccess = this.counter('offset_commit_success_total', 'Successful offset commits.');
  readonly offsetCommitFailure = this.counter('offset_commit_failure_total', 'Failed offset commits.');
  readonly recordFailures = this.counter('total_record_failures', 'Record processing failures (conversion, transforms, the task).');
  readonly recordsSkipped = this.counter('total_records_skipped', 'Records skipped by error tolerance.');
  readonly retries = this.counter('total_retries', 'Operations retried after a retriable failure.');
  readonly dlqProduceRequests = this.counter('deadletterqueue_produce_requests', 'Records written to the dead-letter queue.');
  readonly dlqProduceFailures = this.counter('deadletterqueue_produce_failures', 'Failed dead-letter queue writes.');
  readonly taskRestarts = this.counter('task_restarts_total', 'Automatic restarts of failed tasks.');
  readonly offsetCommitSeconds = new Histogram({
    name: 'ferry_offset_commit_seconds',
    help: 'Time to commit offsets.',
    labelNames: TASK,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly pollBatchSeconds = new Histogram({
    name: 'ferry_poll_batch_seconds',
    help: 'Time of a source poll() call.',
    labelNames: TASK,
    buckets: [0.0001, 0.001, 0.01, 0.1, 1, 5],
    registers: [this.registry],
  });
  readonly putBatchSeconds = new Histogram({
    name: 'ferry_put_batch_seconds',
    help: 'Time of a sink put() call.',
    labelNames: TASK,
    buckets: [0.0001, 0.001, 0.01, 0.1, 1, 5],
    registers: [this.registry],
  });
  readonly taskState = new Gauge({
    name: 'ferry_task_state',
    help: 'Task state: 1 for the current state, 0 otherwise.',
    labelNames: ['connector', 'task', 'state'],
    registers: [this.registry],
  });
  readonly connectorState = new Gauge({
    name: 'ferry_connector_state',
    help: 'Connector state: 1 for the current state, 0 otherwise.',
    labelNames: ['connector', 'state'],
    registers: [this.registry],
  });

  readonly jobRows = new Counter({
    name: 'ferry_job_rows_total',
    help: 'Rows delivered by chunks of jobs run on this worker.',
    labelNames: ['connector'],
    registers: [this.registry],
  });
  readonly jobChunks = new Counter({
    name: 'ferry_job_chunks_total',
    help: 'Chunk attempts run on this worker that ended, by outcome (completed, failed, stopped).',
    labelNames: ['connector', 'outcome'],
    registers: [this.registry],
  });
  readonly jobChunksActive = new Gauge({
    name: 'ferry_job_chunks_active',
    help: 'Chunks running on this worker now.',
    labelNames: ['connector'],
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'ferry_' });
      // prom-client reports rss, heap and external memory but not the part of
      // external memory held by ArrayBuffers (Buffers): the figure that tells a
      // retained-Buffer leak from native (malloc) growth.
      new Gauge({
        name: 'ferry_nodejs_array_buffers_bytes',
        help: 'Memory held by ArrayBuffers and Buffers (process.memoryUsage().arrayBuffers).',
        registers: [this.registry],
        collect() {
          this.set(process.memoryUsage().arrayBuffers);
        },
      });
    }
  }

  private counter(name: string, help: string): Counter<'connector' | 'task'> {
    return new Counter({ name: `ferry_${name}`, help, labelNames: TASK, registers: [this.registry] });
  }

  setTaskState(connector: string, task: number, state: string): void {
    for (const s of ['UNASSIGNED', 'RUNNING', 'PAUSED', 'FAILED', 'RESTARTING']) {
      this.taskState.set({ connector, task: String(task), state: s }, s === state ? 1 : 0);
    }
  }

  setConnectorState(connector: string, state: string): void {
    for (const s of ['UNASSIGNED', 'RUNNING', 'PAUSED', 'FAILED', 'RESTARTING', 'STOPPED']) {
      this.connectorState.set({ connector, state: s }, s === state ? 1 : 0);
    }
  }

  /** Drops every series of a deleted connector. */
  forgetConnector(connector: string): void {
    for (const m of this.registry.getMetricsAsArray()) {
      const metric = m as unknown as { remove?: (labels: Record<string, string>) => void; hashMap?: Record<string, { labels: Record<string, string> }> };
      if (!metric.hashMap || !metric.remove) continue;
      for (const e of Object.values(metric.hashMap)) if (e.labels.connector === connector) metric.remove(e.labels);
    }
  }
}
