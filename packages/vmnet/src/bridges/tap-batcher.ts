// Coalesces concurrent createTap calls on one bridge: calls that arrive while the bridge's queue
// is busy are created together as one batch (one netlink batch, one OVSDB transaction). If the
// batch fails, each call is retried alone so every caller gets its own result or error.
import type { TapSpec } from "./taps.js";

interface Waiting {
  spec: TapSpec;
  resolve: (name: string) => void;
  reject: (e: unknown) => void;
}

export class TapBatcher {
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(
    private readonly enqueue: <T>(job: () => Promise<T>) => Promise<T>,
    private readonly createMany: (specs: TapSpec[]) => Promise<string[]>,
  ) {}

  create(spec: TapSpec): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.waiting.push({ spec, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      this.enqueue(() => this.flush()).catch(() => {});
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    this.scheduled = false;
    try {
      const names = await this.createMany(batch.map((w) => w.spec));
      for (const [i, w] of batch.entries()) w.resolve(names[i] as string);
    } catch (e) {
      if (batch.length === 1) {
        batch[0]?.reject(e);
        return;
      }
      for (const w of batch) {
        try {
          const [name] = await this.createMany([w.spec]);
          w.resolve(name as string);
        } catch (err) {
          w.reject(err);
        }
      }
    }
  }
}
