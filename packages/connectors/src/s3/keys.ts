/**
 * The object key layout shared by S3Sink (which writes it) and S3Source
 * restore mode (which reads it back):
 * `<topics.dir>/<topic>/<encodedPartition>/<topic>+<kafkaPartition>+<startOffset padded to 10>.<ext>`.
 */

/** Zero-pads an offset to 10 digits (longer offsets are kept whole). */
export function padOffset(offset: number): string {
  return String(offset).padStart(10, '0');
}

export function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

/** The directory of a topic under topics.dir. */
export function topicPrefix(topicsDir: string, topic: string): string {
  return joinKey(topicsDir, topic) + '/';
}

export function objectKey(topicsDir: string, topic: string, encodedPartition: string, kafkaPartition: number, startOffset: number, ext: string): string {
  return joinKey(topicsDir, topic, encodedPartition, `${topic}+${kafkaPartition}+${padOffset(startOffset)}.${ext}`);
}

export interface ParsedKey {
  key: string;
  /** The directory part (everything before the file name, with a trailing `/`). */
  dir: string;
  topic: string;
  partition: number;
  startOffset: number;
  ext: string;
}

const FILE_RE = /^([A-Za-z0-9._-]+)\+(\d+)\+(\d+)\.([A-Za-z0-9.]+)$/;

/** Parses a key written by S3Sink; undefined for anything else. */
export function parseObjectKey(key: string): ParsedKey | undefined {
  const slash = key.lastIndexOf('/');
  const file = key.slice(slash + 1);
  const m = FILE_RE.exec(file);
  if (!m) return undefined;
  return { key, dir: key.slice(0, slash + 1), topic: m[1], partition: Number(m[2]), startOffset: Number(m[3]), ext: m[4] };
}
