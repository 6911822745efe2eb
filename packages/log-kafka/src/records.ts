import type { RecordsBatch } from '@platformatic/kafka';
import type { Headers, LogRecord } from '@tracklane/log';

/** Bit 5 of a batch's attributes: a transaction marker, not data (Kafka's RecordBatch.CONTROL_FLAG_MASK). */
const CONTROL = 1 << 5;

/**
 * Turns fetched record batches into LogRecords from `from` on. A fetch may start at the beginning of the batch
 * holding `from`, so earlier records are skipped; control batches (transaction markers) occupy offsets but
 * hold no records. Stops at `maxRecords` or once `maxBytes` of values are taken (at least one record).
 */
export function recordsFromBatches(
  topic: string,
  partition: number,
  batches: readonly RecordsBatch[] | undefined,
  from: number,
  maxRecords: number,
  maxBytes: number,
): LogRecord[] {
  const out: LogRecord[] = [];
  if (!batches) return out;
  let bytes = 0;
  for (const batch of batches) {
    if (batch.attributes & CONTROL) continue;
    const base = Number(batch.firstOffset);
    const firstTimestamp = Number(batch.firstTimestamp);
    for (const r of batch.records) {
      const offset = base + r.offsetDelta;
      if (offset < from) continue;
      const value = r.value ?? Buffer.alloc(0);
      if (out.length > 0 && bytes + value.length > maxBytes) return out;
      bytes += value.length;
      out.push({
        topic,
        partition,
        offset,
        key: r.key,
        value,
        headers: headersOf(r.headers),
        timestamp: firstTimestamp + Number(r.timestampDelta),
      });
      if (out.length >= maxRecords || bytes >= maxBytes) return out;
    }
  }
  return out;
}

function headersOf(pairs: readonly [Buffer | null, Buffer | null][]): Headers {
  const headers: Headers = {};
  for (const [k, v] of pairs)
    if (k !== null) headers[k.toString('utf8')] = v === null ? '' : v.toString('utf8');
  return headers;
}

/** Kafka's OFFSET_OUT_OF_RANGE: the fetch offset is below the log start (retention) or past the end. */
export const OFFSET_OUT_OF_RANGE = 1;
