/**
 * The simulator's agenda: a binary min-heap of events ordered by virtual
 * time, ties broken by insertion order so that a run is deterministic.
 */
export interface Scheduled {
  readonly atMs: number;
  /** Set by the queue: insertion order. */
  seq: number;
}

export class EventQueue<T extends Scheduled> {
  private readonly heap: T[] = [];
  private counter = 0;

  get size(): number {
    return this.heap.length;
  }

  push(event: T): void {
    event.seq = this.counter++;
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const child = heap[i]!;
      const up = heap[parent]!;
      if (!before(child, up)) break;
      heap[i] = up;
      heap[parent] = child;
      i = parent;
    }
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  pop(): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        const down = heap[i]!;
        heap[i] = heap[smallest]!;
        heap[smallest] = down;
        i = smallest;
      }
    }
    return top;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
