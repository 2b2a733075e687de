/**
 * The worker config of a test cluster: its own storage topics (replication 1,
 * few partitions), short heartbeats and session for fast failover, loopback
 * REST. Each test sets what it depends on through `overrides`.
 */
export function clusterConfig(group: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'group.id': group,
    'config.storage.topic': `${group}-configs`,
    'offset.storage.topic': `${group}-offsets`,
    'status.storage.topic': `${group}-status`,
    'config.storage.replication.factor': 1,
    'offset.storage.replication.factor': 1,
    'status.storage.replication.factor': 1,
    'offset.storage.partitions': 5,
    'status.storage.partitions': 3,
    'scheduled.rebalance.max.delay.ms': 3000,
    'heartbeat.interval.ms': 500,
    'session.timeout.ms': 6000,
    'rebalance.timeout.ms': 20000,
    'rest.advertised.host.name': '127.0.0.1',
    'offset.flush.interval.ms': 1000,
    'value.converter.schemas.enable': 'false',
    ...overrides,
  };
}
