/**
 * Recycles the buffers batches are encoded into. Every append encodes its records into one fresh buffer of
 * tens of KB; allocated anew each time they are external memory that drives frequent GCs (over 10% of the
 * append path's CPU in profiles). A batch buffer is dead as soon as its write returned (readers read the
 * file, never these buffers), so the partition hands it back here and the next append reuses it.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  private freeBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** A buffer of exactly `size` bytes (uninitialized) over a pooled or new backing store. */
  take(size: number): Buffer {
    const free = this.free;
    for (let i = free.length - 1; i >= 0; i--) {
      const ab = free[i]!;
      // Reuse only stores that fit without wasting more than 4x, so tiny batches do not pin big stores.
      if (ab.byteLength >= size && ab.byteLength <= Math.max(size * 4, MIN_CAPACITY)) {
        free[i] = free[free.length - 1]!;
        free.pop();
        this.freeBytes -= ab.byteLength;
        return Buffer.from(ab, 0, size);
      }
    }
    let capacity = MIN_CAPACITY;
    while (capacity < size) capacity *= 2;
    return Buffer.from(Buffer.allocUnsafeSlow(capacity).buffer, 0, size);
  }

  /** Returns a buffer obtained from `take`; the caller must hold no other reference to it. */
  give(buf: Buffer): void {
    const ab = buf.buffer;
    if (!(ab instanceof ArrayBuffer) || ab.byteLength < MIN_CAPACITY) return;
    if (this.freeBytes + ab.byteLength > this.maxBytes) return;
    this.free.push(ab);
    this.freeBytes += ab.byteLength;
  }
}

const MIN_CAPACITY = 16 * 1024;
