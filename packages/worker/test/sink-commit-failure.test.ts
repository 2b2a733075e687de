/**
 * A sink whose offset commits fail: the failure is retried with backoff,
 * shows in the task status message and a metric, and fails the task once
 * errors.retry.timeout has passed. The consumer is a stand-in (pure runtime
 * logic); the broker-side behaviour is covered by the fault suite.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger, type SinkRecord, type SinkTask, type TopicPartition, type TopicPartitionOffset } from '@ferry/core';
import type { TaskState } from '../src/stores/contracts.js';
import type { BackboneConsumer, ConsumerHandlers } from '../src/backbone/backbone.js';
import { builtinConverters, builtinHeaderConverters } from '../src/converters/index.js';
import { transformsFactory } from '../src/herder/transforms-factory.js';
import { WorkerMetrics } from '../src/metrics.js';
import { PluginRegistry, type AnyPlugin } from '../src/plugins/registry.js';
import { buildConverters } from '../src/runtime/converters.js';
import { ErrorHandlingConfig, ErrorReporter } from '../src/runtime/error-handling.js';
import { SinkTaskRunner } from '../src/runtime/sink-task-runner.js';
import { builtinPredicates, builtinTransformations } from '../src/transforms/index.js';

class FlakyCommitConsumer implements BackboneConsumer {
  handlers?: ConsumerHandlers;
  failuresLeft: number;
  committed: TopicPartitionOffset[] = [];
  attempts = 0;
  constructor(failures: number) {
    this.failuresLeft = failures;
  }
  async connect() {}
  async subscribe() {}
  async run(h: ConsumerHandlers) {
    this.handlers = h;
    await h.onAssignment([{ topic: 't', partition: 0 }]);
  }
  async commit(offsets: TopicPartitionOffset[]) {
    this.attempts++;
    if (this.failuresLeft-- > 0) {
      const err = new Error('The coordinator is not available');
      err.name = 'KafkaJSProtocolError';
      (err as { retriable?: boolean }).retriable = true;
      throw err;
    }
    this.committed.push(...offsets);
  }
  seek() {}
  pause(_tps: TopicPartition[]) {}
  resume(_tps: TopicPartition[]) {}
  async disconnect() {}
}

function runner(consumer: FlakyCommitConsumer, connectorConfig: Record<string, string>) {
  const registry = new PluginRegistry([...builtinConverters, ...builtinHeaderConverters, ...builtinTransformations, ...builtinPredicates] as AnyPlugin[]);
  const metrics = new WorkerMetrics();
  const states: Array<{ state: TaskState; message?: string; trace?: string }> = [];
  const written: SinkRecord[] = [];
  const task: SinkTask = {
    async start() {},
    async put(rs) {
      written.push(...rs);
    },
    async stop() {},
  };
  const settings = ErrorHandlingConfig.parse(connectorConfig);
  const r = new SinkTaskRunner({
    connector: 'c',
    taskId: 0,
    taskConfig: {},
    logger: silentLogger,
    metrics,
    converters: buildConverters({ 'value.converter': 'StringConverter', 'key.converter': 'StringConverter' }, {}, registry),
    transforms: transformsFactory(registry).build({}),
    errors: new ErrorReporter(settings, { connector: 'c', taskId: 0, logger: silentLogger, metrics }),
    onStateChange: (state, detail) => states.push({ state, ...detail }),
    retryMaxDelayMs: 400,
    retryTimeoutMs: settings['errors.retry.timeout'],
    task,
    consumer,
    groupId: `g-${Math.random()}`,
    subscription: { topics: ['t'] },
    commitIntervalMs: 100,
  });
  return { r, states, written, metrics };
}

async function until(cond: () => boolean, what: string, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

const msg = (offset: number) => ({ key: null, value: Buffer.from(`v${offset}`), headers: [], offset, timestamp: Date.now(), topic: 't', partition: 0 });

describe('sink offset commit failures', () => {
  it('are retried with backoff, shown in the status message and counted, then cleared once a commit succeeds', async () => {
    const consumer = new FlakyCommitConsumer(3);
    const { r, states, metrics } = runner(consumer, {});
    r.start();
    await until(() => consumer.handlers !== undefined, 'the consumer to run');
    await consumer.handlers!.onBatch([msg(0), msg(1)] as never, { topic: 't', partition: 0 });
    await until(() => states.some((s) => /Offset commit failed \(1 in a row\)/.test(s.message ?? '')), 'the failure in the status');
    await until(() => consumer.committed.length > 0, 'a commit that succeeds');
    assert.deepEqual(consumer.committed, [{ topic: 't', partition: 0, offset: 2 }]);
    assert.equal(consumer.attempts, 4);
    const last = states[states.length - 1]!;
    assert.equal(last.state, 'RUNNING');
    assert.equal(last.message, undefined, 'the message is cleared after a successful commit');
    const text = await metrics.registry.metrics();
    assert.match(text, /ferry_offset_commit_failure_total\{connector="c",task="0"\} 3/);
    await r.stop(1000);
  });

  it('fail the task once errors.retry.timeout has passed', async () => {
    const consumer = new FlakyCommitConsumer(Number.MAX_SAFE_INTEGER);
    const { r, states } = runner(consumer, { 'errors.retry.timeout': '600' });
    r.start();
    await until(() => consumer.handlers !== undefined, 'the consumer to run');
    await consumer.handlers!.onBatch([msg(0)] as never, { topic: 't', partition: 0 });
    await until(() => states.some((s) => s.state === 'FAILED'), 'FAILED');
    assert.match(states.find((s) => s.state === 'FAILED')!.trace ?? '', /Offset commit failed \d+ times/);
    await r.stop(1000);
  });
});
