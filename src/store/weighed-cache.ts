// A cache bounded by its number of entries and by their total weight, oldest entry out first.
//
// The meetings caches weigh an entry by its stored JSON text. A meeting can be as large as the 1 MB
// body limit allows, and what a cached meeting keeps alive (its text, its parsed object and, once
// served, its encoded answer) is a few times that: bounded by count alone, reading a few hundred
// large meetings once each held over a GB.

export class WeighedCache<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private total = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxWeight: number,
  ) {}

  get(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  /** Keeps `value` as the newest entry, unless it alone weighs more than the whole cache may. */
  set(key: K, value: V, weight: number) {
    this.delete(key);
    if (weight > this.maxWeight) return;
    this.entries.set(key, { value, weight });
    this.total += weight;
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.total <= this.maxWeight) break;
      this.entries.delete(oldest);
      this.total -= entry.weight;
    }
  }

  delete(key: K) {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.weight;
  }

  clear() {
    this.entries.clear();
    this.total = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entries' total weight. */
  get weight(): number {
    return this.total;
  }
}
