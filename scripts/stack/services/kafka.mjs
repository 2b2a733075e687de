// Apache Kafka, single-node KRaft (broker + controller), jars from Maven Central.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { cacheDir, stackScriptsDir } from '../lib/paths.mjs';
import { ensureDir, fingerprint, mvnCopyDependencies } from '../lib/cache.mjs';
import { javaBin } from '../lib/java.mjs';
import { run } from '../lib/proc.mjs';
import { kafkaReady } from '../lib/kafka-wire.mjs';
import { managedService, timeoutFromEnv } from '../lib/managed.mjs';
import { tcpProbe } from '../lib/net.mjs';
import { serviceDir } from '../lib/paths.mjs';
import { SECURE_PORT, ensureScramUsers, ensureSecureMaterial, formatScramArgs, markScramUsers, secureInfo, secureServerProperties } from './kafka-secure.mjs';

export const HOST = '127.0.0.1';
export const PORT = 9092;
export const CONTROLLER_PORT = 9093;
export { SECURE_PORT };

/** The SASL_SSL listener: bootstrap address, CA file, users and passwords (see kafka-secure.mjs). */
export function kafkaSecureInfo() {
  return secureInfo(serviceDir('kafka'), HOST);
}
const POM = path.join(stackScriptsDir, 'kafka', 'pom.xml');

/** Kafka version, read from the pom (single source of truth). */
export const VERSION = fs.readFileSync(POM, 'utf8').match(/<kafka\.version>([^<]+)</)[1];

export function libsDir() {
  return path.join(cacheDir(), 'kafka', 'libs');
}

/** Download the server jars once (skipped when the marker matches the pom). */
export function ensureKafkaLibs({ log } = {}) {
  return ensureDir(libsDir(), fingerprint([POM]), async (tmp) => {
    log?.(`fetching Kafka ${VERSION} jars from Maven Central (first run only)`);
    await mvnCopyDependencies(POM, tmp, { log });
  }, { log, what: 'the Kafka jar download' });
}

function serverProperties(dir) {
  return `# Written by scripts/stack/services/kafka.mjs on every start; edit there.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${HOST}:${CONTROLLER_PORT}
listeners=PLAINTEXT://${HOST}:${PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT},SASL_SSL://${HOST}:${SECURE_PORT}
advertised.listeners=PLAINTEXT://${HOST}:${PORT},SASL_SSL://${HOST}:${SECURE_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
${secureServerProperties(dir)}log.dirs=${path.join(dir, 'data')}
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
`;
}

function log4jProperties(level) {
  return `# Written by scripts/stack/services/kafka.mjs
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.target = ${level === 'INFO' ? 'SYSTEM_OUT' : 'SYSTEM_ERR'}
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${level}
rootLogger.appenderRef.out.ref = OUT
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
`;
}

/** Generate a cluster id the way Kafka's Uuid.randomUuid() does (base64url, 16 bytes, no leading '-'). */
function clusterId() {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const TOOL_ALIASES = {
  topics: 'org.apache.kafka.tools.TopicCommand',
  'console-producer': 'org.apache.kafka.tools.ConsoleProducer',
  'console-consumer': 'org.apache.kafka.tools.consumer.ConsoleConsumer',
  'consumer-groups': 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
  configs: 'org.apache.kafka.tools.ConfigCommand',
  'get-offsets': 'org.apache.kafka.tools.GetOffsetShell',
  'metadata-quorum': 'org.apache.kafka.tools.MetadataQuorumCommand',
};

function toolArgs(tool, args) {
  const mainClass = TOOL_ALIASES[tool] ?? tool;
  const conf = path.join(cacheDir(), 'kafka', 'tools-log4j2.properties');
  if (!fs.existsSync(conf)) {
    fs.mkdirSync(path.dirname(conf), { recursive: true });
    fs.writeFileSync(conf, log4jProperties('WARN'));
  }
  const extra = TOOL_ALIASES[tool] && !args.includes('--bootstrap-server') ? ['--bootstrap-server', `${HOST}:${PORT}`] : [];
  return [`-Dlog4j2.configurationFile=${conf}`, '-Xmx256m', '-cp', path.join(libsDir(), '*'), mainClass, ...extra, ...args];
}

/**
 * Run one of Kafka's command-line tools and capture its output. `tool` is an
 * alias (topics, console-producer, console-consumer, consumer-groups, configs,
 * get-offsets, metadata-quorum; --bootstrap-server 127.0.0.1:9092 is added when
 * missing) or a main class name, e.g. kafkaTool('topics', ['--list']).
 */
export async function kafkaTool(tool, args = [], opts = {}) {
  await ensureKafkaLibs({ log: opts.log });
  return run(javaBin(), toolArgs(tool, args), opts);
}

/** Same, attached to this terminal (stdin/stdout/stderr); resolves the exit code. */
export async function kafkaToolInteractive(tool, args = []) {
  await ensureKafkaLibs({ log: (m) => process.stderr.write(`[kafka] ${m}\n`) });
  const child = spawn(javaBin(), toolArgs(tool, args), { stdio: 'inherit' });
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

export const KAFKA_TOOL_ALIASES = Object.keys(TOOL_ALIASES);

export default managedService({
  name: 'kafka',
  host: HOST,
  port: PORT,
  readyTimeoutMs: timeoutFromEnv('kafka', 90_000),
  stopGraceMs: 30_000,
  probe: () => kafkaReady(HOST, PORT),
  // Ready when the PLAINTEXT listener serves groups, the SCRAM users exist and the SASL_SSL listener accepts connections.
  async ready(ctx) {
    if (!(await kafkaReady(HOST, PORT))) return false;
    await ensureScramUsers(ctx.dir, kafkaTool, ctx.log);
    return tcpProbe(HOST, SECURE_PORT, 1000);
  },
  describe: async () => `Kafka ${VERSION}`,
  async prepare(ctx) {
    const filled = await ensureKafkaLibs({ log: ctx.log });
    await ensureSecureMaterial(ctx.dir, ctx.log);
    const props = path.join(ctx.dir, 'server.properties');
    // Holds the PLAIN users' passwords.
    fs.writeFileSync(props, serverProperties(ctx.dir), { mode: 0o600 });
    fs.chmodSync(props, 0o600);
    fs.writeFileSync(path.join(ctx.dir, 'log4j2.properties'), log4jProperties('INFO'));
    const data = path.join(ctx.dir, 'data');
    if (!fs.existsSync(path.join(data, 'meta.properties'))) {
      ctx.log(`formatting storage in ${data}`);
      fs.rmSync(data, { recursive: true, force: true });
      await run(javaBin(), [
        `-Dlog4j2.configurationFile=${path.join(ctx.dir, 'log4j2.properties')}`,
        '-Dlog4j2.level=WARN',
        '-cp', path.join(libsDir(), '*'),
        'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', props, ...formatScramArgs(ctx.dir),
      ]);
      markScramUsers(ctx.dir);
    }
    return filled ? 'jars downloaded' : '';
  },
  launch(ctx) {
    const heap = (process.env.KAFKA_HEAP_OPTS || '-Xms512m -Xmx512m').split(/\s+/).filter(Boolean);
    return {
      cmd: javaBin(),
      cwd: ctx.dir,
      args: [
        ...heap,
        '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35',
        '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${path.join(ctx.dir, 'log4j2.properties')}`,
        '-cp', path.join(libsDir(), '*'),
        'kafka.Kafka', path.join(ctx.dir, 'server.properties'),
      ],
      meta: { version: VERSION },
    };
  },
});
