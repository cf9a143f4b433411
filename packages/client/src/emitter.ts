// A small typed event emitter that runs in browsers and Node alike; a throwing listener never breaks the client.

type Listener<T> = (value: T) => void;

/**
 * Listeners per event name, typed by an event map. Unlike Node's
 * EventEmitter, an `error` event without listeners is simply dropped.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Listener<never>[]>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const list = this.#listeners.get(event);
    if (list === undefined) this.#listeners.set(event, [listener as Listener<never>]);
    else list.push(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs once. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (value) => {
      off();
      listener(value);
    });
    return off;
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    const list = this.#listeners.get(event);
    if (list === undefined) return;
    const index = list.indexOf(listener as Listener<never>);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) this.#listeners.delete(event);
  }

  /** True when anyone listens to `event`; lets hot paths skip building a value nobody reads. */
  has(event: keyof Events): boolean {
    return this.#listeners.has(event);
  }

  protected emit<K extends keyof Events>(event: K, value: Events[K]): void {
    const list = this.#listeners.get(event);
    if (list === undefined) return;
    if (list.length === 1) {
      callSafely(list[0] as Listener<Events[K]>, value);
      return;
    }
    for (const listener of [...list]) callSafely(listener as Listener<Events[K]>, value);
  }
}

function callSafely<T>(listener: Listener<T>, value: T): void {
  try {
    listener(value);
  } catch (error) {
    // A listener's bug must not tear down the connection state machine; surface it asynchronously.
    queueMicrotask(() => {
      throw error;
    });
  }
}
