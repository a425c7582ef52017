// What the store tells about its own work, for metrics. Store code reports through this tiny
// interface and never imports a metrics library; without metrics nothing is passed and nothing runs.

/** Connections of a database pool at one moment. */
export interface PoolUse {
  /** Open connections, busy or idle. */
  total: number;
  idle: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

export interface StoreObserver {
  /** The SQLite writer sent a group commit of `size` inserts to its thread. */
  writeBatch?(size: number): void;
  /** A connection pool says how to read its use; called once, read whenever metrics are collected. */
  poolUse?(read: () => PoolUse): void;
}
