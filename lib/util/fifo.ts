/**
 * A first-in, first-out queue in a ring of slots.
 *
 * A plain array used as a queue (`push`, then `shift` until empty) gets a
 * new backing store at the first `push` after it was emptied: some 150
 * bytes of young heap for every item that passes through an idle queue,
 * which is every message of a request/response exchange. The ring keeps its
 * slots (doubling when full, never shrinking below what it held at once) and
 * clears each slot as it is taken, so a taken item is not kept alive.
 *
 * @module
 */

/** A FIFO queue that allocates only when it holds more items than ever before. */
export class Fifo<T> {
  #slots: (T | undefined)[] = [undefined, undefined, undefined, undefined];
  #head = 0;
  #count = 0;

  /** How many items it holds. */
  get length(): number {
    return this.#count;
  }

  /** Adds `item` at the end. */
  push(item: T): void {
    const slots = this.#slots;
    if (this.#count === slots.length) return this.#grow(item);
    slots[(this.#head + this.#count++) & (slots.length - 1)] = item;
  }

  /** The first item, left in place; undefined when empty. */
  peek(): T | undefined {
    return this.#count === 0 ? undefined : this.#slots[this.#head];
  }

  /** Takes the first item; undefined when empty. */
  shift(): T | undefined {
    if (this.#count === 0) return undefined;
    const slots = this.#slots;
    const item = slots[this.#head];
    slots[this.#head] = undefined;
    this.#head = (this.#head + 1) & (slots.length - 1);
    this.#count--;
    return item;
  }

  /** Full: the items move, in order, to a ring twice as large (lengths stay powers of two). */
  #grow(item: T): void {
    const old = this.#slots;
    const slots = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.#count; i++) slots[i] = old[(this.#head + i) & (old.length - 1)];
    slots[this.#count++] = item;
    this.#slots = slots;
    this.#head = 0;
  }
}
