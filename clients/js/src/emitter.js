// A minimal typed-event emitter: on() returns the function that removes the listener,
// and a listener that throws never stops the others (nor the client's own logic).
export class Emitter {
  #listeners = new Map();

  on(event, listener) {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit(event, value) {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(value);
      } catch (err) {
        if (event !== 'error') this.emit('error', err);
      }
    }
  }
}
