// Idle context objects (a connection's or a request's) kept for reuse, so a
// new context allocates nothing, and let go a half at each tick, so a burst's
// memory comes back within seconds while steady churn keeps its pool.

/** Idle objects kept at most; more are let go. */
const POOL_SIZE = 64;

export class ContextPool<T> {
  private idle: T[] = [];

  /** An idle object to reuse, or null (make a new one). */
  take(): T | null {
    let idle = this.idle;
    return idle.length > 0 ? idle.pop() : null;
  }

  /** An object whose context is over: kept for a later one while the pool has room. */
  give(object: T): void {
    if (this.idle.length < POOL_SIZE) this.idle.push(object);
  }

  /** Half of the idle objects go (each tick). */
  shrink(): void {
    this.idle.length = this.idle.length >> 1;
  }
}
