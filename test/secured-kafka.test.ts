/**
 * The worker against the stack Kafka's SASL_SSL listener (127.0.0.1:9094,
 * SCRAM users and a CA made by the stack script): a source and a sink end to
 * end, wrong passwords shown in the task status without a crash loop, and
 * connector client overrides under connector.client.config.override.policy.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { consume, killAllWorkers, readLines, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';
import { requireSecureKafka, scramJaas, type SecureKafka } from './harness/secure-kafka.js';

let kafka: SecureKafka;
const WRONG = 'not-the-password-0b7c';

function secureWorkerConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'bootstrap.servers': kafka.bootstrap,
    'security.protocol': 'SASL_SSL',
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': kafka.caFile,
    'sasl.mechanism': 'SCRAM-SHA-256',
    'sasl.jaas.config': scramJaas('ferry', kafka.users.ferry!),
    ...extra,
  };
}

/** No credential of the stack (nor the wrong password) in anything the worker printed. */
function assertNoSecrets(w: WorkerHandle, extra: unknown[] = []): void {
  const text = w.logs() + extra.map((e) => JSON.stringify(e)).join('\n');
  for (const [user, pw] of Object.entries(kafka.users)) assert.ok(!text.includes(pw), `the password of ${user} leaked`);
  assert.ok(!text.includes(WRONG), 'the wrong password leaked');
}

async function status(w: WorkerHandle, name: string) {
  return (await w.request('GET', `/connectors/${name}/status`)).body;
}

/** Waits for task 0 of `name` to be FAILED with `pattern` in its trace; returns the status. */
async function waitForTaskFailure(w: WorkerHandle, name: string, pattern: RegExp, timeoutMs = 60000) {
  return waitFor(
    async () => {
      const s = await status(w, name);
      const t = s?.tasks?.[0];
      return t?.state === 'FAILED' && pattern.test(t.trace ?? '') ? s : null;
    },
    { timeoutMs, message: `${name} task FAILED with ${pattern}` },
  );
}

/** Automatic restarts of a connector's task 0 logged so far: [attempt, delay]. */
function restarts(w: WorkerHandle, name: string): Array<{ attempt: number; delay: number }> {
  return w
    .logs()
    .split('\n')
    .filter((l) => l.includes('Task failed; restarting automatically') && l.includes(`"connector":"${name}"`))
    .map((l) => JSON.parse(l) as { attempt: number; delay: number });
}

before(async () => {
  kafka = await requireSecureKafka();
});
after(killAllWorkers);

describe('secured Kafka (SASL_SSL + SCRAM)', () => {
  it('runs a source and a sink end to end through the SASL_SSL listener', async () => {
    const topic = uniqueName('secure-e2e');
    const w = await startWorker({
      // The consumer (sink) authenticates with SCRAM-SHA-512, the admin client with PLAIN, the producer with SCRAM-SHA-256.
      workerConfig: secureWorkerConfig({
        'consumer.sasl.mechanism': 'SCRAM-SHA-512',
        'admin.sasl.mechanism': 'PLAIN',
        'admin.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required username="ferry" password="${kafka.users.ferry}";`,
      }),
    });
    try {
      const n = 300;
      const out = join(w.dir, 'out.jsonl');
      const src = await w.request('POST', '/connectors', {
        name: `${topic}-src`,
        config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: n, 'max.interval': 0 },
      });
      assert.equal(src.status, 201, JSON.stringify(src.body));
      const sink = await w.request('POST', '/connectors', { name: `${topic}-sink`, config: { 'connector.class': 'FileStreamSink', topics: topic, file: out } });
      assert.equal(sink.status, 201, JSON.stringify(sink.body));
      await waitFor(() => readLines(out).length >= n, { timeoutMs: 90000, message: `${n} lines in ${out}` });
      assert.equal(readLines(out).length, n);
      // The records are in the cluster (read back through the plaintext listener).
      const msgs = await consume(topic, { count: n, timeoutMs: 30000 });
      assert.equal(msgs.length, n);
      const root = await w.request('GET', '/');
      assert.equal(root.status, 200);
      assert.ok(root.body.kafka_cluster_id, JSON.stringify(root.body));
      assertNoSecrets(w);
    } finally {
      await w.stop();
    }
  });

  it('refuses producer.override.* under the default policy (None), naming the key', async () => {
    const w = await startWorker({ workerConfig: secureWorkerConfig() });
    try {
      const topic = uniqueName('secure-none');
      const config = {
        'connector.class': 'DatagenSource',
        'kafka.topic': topic,
        quickstart: 'orders',
        'producer.override.sasl.jaas.config': scramJaas('ferry2', kafka.users.ferry2!),
      };
      const r = await w.request('POST', '/connectors', { name: topic, config });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.message, /producer\.override\.sasl\.jaas\.config: The 'None' policy/);
      const v = await w.request('PUT', '/connector-plugins/DatagenSource/config/validate', { name: topic, ...config });
      assert.equal(v.status, 200);
      const entry = v.body.configs.find((c: { value: { name: string } }) => c.value.name === 'producer.override.sasl.jaas.config');
      assert.ok(entry, JSON.stringify(v.body.configs.map((c: { value: { name: string } }) => c.value.name)));
      assert.equal(entry.value.value, '[hidden]');
      assert.match(entry.value.errors[0], /does not allow/);
      assert.equal((await w.request('GET', `/connectors/${topic}`)).status, 404);
      assertNoSecrets(w, [r.body, v.body]);
    } finally {
      await w.stop();
    }
  });

  it('with policy All, a connector writes as another user; wrong passwords fail the task with the authentication error, without a crash loop', async () => {
    // The worker's own producer has a wrong password: only connectors with a correct override can write.
    const w = await startWorker({
      workerConfig: secureWorkerConfig({
        'connector.client.config.override.policy': 'All',
        'producer.sasl.jaas.config': scramJaas('ferry', WRONG),
      }),
    });
    try {
      const topic = uniqueName('secure-all');
      const n = 100;
      const override = {
        'producer.override.sasl.mechanism': 'SCRAM-SHA-512',
        'producer.override.sasl.jaas.config': scramJaas('ferry2', kafka.users.ferry2!),
      };
      const ok = await w.request('POST', '/connectors', {
        name: `${topic}-as-ferry2`,
        config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: n, 'max.interval': 0, ...override },
      });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      assert.equal(ok.body.config['producer.override.sasl.jaas.config'], '[hidden]');
      assert.equal((await w.request('GET', `/connectors/${topic}-as-ferry2/config`)).body['producer.override.sasl.jaas.config'], '[hidden]');
      const msgs = await consume(topic, { count: n, timeoutMs: 60000 });
      assert.equal(msgs.length, n);

      // Same connector without the override: the worker's wrong producer password.
      const bad = await w.request('POST', '/connectors', {
        name: `${topic}-as-worker`,
        config: { 'connector.class': 'DatagenSource', 'kafka.topic': `${topic}-2`, quickstart: 'orders', iterations: n, 'max.interval': 0 },
      });
      assert.equal(bad.status, 201, JSON.stringify(bad.body));
      const st = await waitForTaskFailure(w, `${topic}-as-worker`, /cannot authenticate to Kafka[\s\S]*SCRAM-SHA-256/);
      assert.equal(st.connector.state, 'RUNNING');

      // A sink whose consumer override has a wrong password fails the same way.
      const sink = await w.request('POST', '/connectors', {
        name: `${topic}-sink-wrong`,
        config: {
          'connector.class': 'FileStreamSink',
          topics: topic,
          file: join(w.dir, 'never.jsonl'),
          'consumer.override.sasl.jaas.config': scramJaas('ferry2', WRONG),
        },
      });
      assert.equal(sink.status, 201, JSON.stringify(sink.body));
      await waitForTaskFailure(w, `${topic}-sink-wrong`, /cannot authenticate to Kafka/);
      assert.deepEqual(readLines(join(w.dir, 'never.jsonl')), []);

      // No crash loop: the failed task is restarted with a growing backoff while the worker stays up.
      const seen = await waitFor(() => (restarts(w, `${topic}-as-worker`).length >= 3 ? restarts(w, `${topic}-as-worker`) : null), {
        timeoutMs: 60000,
        message: 'three automatic restarts',
      });
      const delays = seen.slice(0, 3).map((r) => r.delay);
      assert.ok(delays[0]! <= delays[1]! && delays[1]! <= delays[2]! && delays[2]! >= 2000, `backoff delays ${delays.join(', ')}`);
      assert.equal((await w.request('GET', '/health')).status, 200);
      assert.equal((await status(w, `${topic}-as-ferry2`)).tasks[0].state, 'RUNNING');
      const after = await status(w, `${topic}-as-worker`);
      assertNoSecrets(w, [after, await status(w, `${topic}-sink-wrong`)]);
    } finally {
      await w.stop();
    }
  });

  it('a worker with a wrong password stays up and says why in the task status', async () => {
    const w = await startWorker({ workerConfig: secureWorkerConfig({ 'sasl.jaas.config': scramJaas('ferry', WRONG) }) });
    try {
      const topic = uniqueName('secure-wrong');
      const r = await w.request('POST', '/connectors', {
        name: topic,
        config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: 10, 'max.interval': 0 },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const st = await waitForTaskFailure(w, topic, /cannot authenticate to Kafka[\s\S]*invalid credentials/i);
      assert.ok(!/at .*node_modules/.test(st.tasks[0].trace.split('\n')[0]), 'the first trace line is the message');
      assert.equal((await w.request('GET', '/health')).status, 200);
      assertNoSecrets(w, [st]);
    } finally {
      await w.stop();
    }
  });

  it('a broker certificate the worker does not trust fails the task with the TLS error', async () => {
    // No trust store: the system CAs, which did not sign the stack's broker certificate.
    const cfg = secureWorkerConfig();
    delete cfg['ssl.truststore.location'];
    const w = await startWorker({ workerConfig: cfg });
    try {
      const topic = uniqueName('secure-untrusted');
      const r = await w.request('POST', '/connectors', {
        name: topic,
        config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: 10, 'max.interval': 0 },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      await waitForTaskFailure(w, topic, /cannot set up TLS with Kafka[\s\S]*certificate/i);
      assert.equal((await w.request('GET', '/health')).status, 200);
      assertNoSecrets(w);
    } finally {
      await w.stop();
    }
  });

  it('refuses to start with an invalid security option, naming it', async () => {
    await assert.rejects(
      startWorker({ workerConfig: secureWorkerConfig({ 'producer.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required username="x" password="oops"' }) }),
      (err: Error) => /producer\.sasl\.jaas\.config/.test(err.message) && /missing ";"/.test(err.message) && !err.message.includes('oops'),
    );
  });
});
