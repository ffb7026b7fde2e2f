// gzip on every core: chunks of a stream are compressed independently in worker threads and come
// back in order as separate gzip members. Concatenated members are one valid .gz (RFC 1952 §2.2):
// GNU gzip/tar and Node's gunzip read them as a single stream.
import { Worker } from "node:worker_threads";

// Plain CommonJS evaluated in the worker: no file to locate, so it works the same under tsx,
// vitest and the Next server bundle.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const zlib = require("node:zlib");
parentPort.on("message", (m) => {
  try {
    const input = Buffer.from(m.buffer, 0, m.length);
    const out = zlib.gzipSync(input, { level: m.level, chunkSize: 256 * 1024 });
    // transfer only a buffer that is wholly ours (small results may sit in a shared pool)
    const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out.buffer : out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
    parentPort.postMessage({ seq: m.seq, out: own, input: m.buffer }, [own, m.buffer]);
  } catch (error) {
    parentPort.postMessage({ seq: m.seq, error: String(error && error.message || error) });
  }
});
`;

interface Result {
  seq: number;
  out?: ArrayBuffer;
  input?: ArrayBuffer;
  error?: string;
}

export interface ParallelGzipOptions {
  workers: number;
  /** Chunks handed out and not yet emitted; bounds memory to about 2 × maxInFlight × chunk size. */
  maxInFlight: number;
  /** Called with each compressed member, in input order. */
  onMember(member: Buffer): void;
}

export class ParallelGzip {
  private readonly workers: { worker: Worker; busy: number }[] = [];
  private nextSeq = 0;
  private nextOut = 0;
  private readonly finished = new Map<number, Buffer>();
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];
  private readonly spare: ArrayBuffer[] = [];
  private closed = false;

  constructor(private readonly options: ParallelGzipOptions) {
    for (let i = 0; i < Math.max(1, options.workers); i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      const slot = { worker, busy: 0 };
      worker.on("message", (result: Result) => {
        slot.busy--;
        this.receive(result);
      });
      worker.on("error", (error) => this.fail(error));
      worker.on("exit", (code) => {
        if (code !== 0 && !this.closed) this.fail(new Error(`gzip worker exited with code ${code}`));
      });
      this.workers.push(slot);
    }
  }

  get inFlight(): number {
    return this.nextSeq - this.nextOut;
  }

  /** A buffer of at least `size` bytes to fill and hand to `write` (recycled from earlier chunks). */
  buffer(size: number): Buffer {
    const spare = this.spare.pop();
    if (spare && spare.byteLength >= size) return Buffer.from(spare);
    return Buffer.from(new ArrayBuffer(size));
  }

  /** Compress `chunk.subarray(0, length)`; the chunk's memory now belongs to the pool. Waits while the pool is full. */
  async write(chunk: Buffer, length: number, level: number): Promise<void> {
    while (this.inFlight >= this.options.maxInFlight && !this.failure) await this.wait();
    if (this.failure) throw this.failure;
    if (chunk.byteOffset !== 0) throw new Error("ParallelGzip.write needs a buffer from ParallelGzip.buffer()");
    const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    const buffer = chunk.buffer as ArrayBuffer;
    slot.worker.postMessage({ seq: this.nextSeq++, buffer, length, level }, [buffer]);
  }

  /** Resolves once every written chunk has been emitted. */
  async flush(): Promise<void> {
    while (this.inFlight > 0 && !this.failure) await this.wait();
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.wake();
  }

  private receive(result: Result): void {
    if (result.error !== undefined) return this.fail(new Error(`gzip worker: ${result.error}`));
    if (result.input && this.spare.length < this.options.maxInFlight) this.spare.push(result.input);
    this.finished.set(result.seq, Buffer.from(result.out!));
    for (let member = this.finished.get(this.nextOut); member; member = this.finished.get(this.nextOut)) {
      this.finished.delete(this.nextOut++);
      try {
        this.options.onMember(member);
      } catch (error) {
        return this.fail(error as Error);
      }
    }
    this.wake();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
